package dev.rewind.engine.safetensors;

import dev.rewind.engine.tensor.GgmlType;

import java.util.Optional;

/**
 * The element types a safetensors header may name ({@code "dtype"}), with their size. Knowing a
 * type here means a file using it can be read; {@link #ggmlType()} says which types Rewind's
 * kernels compute with (F32, F16, BF16).
 */
public enum SafetensorsDtype {
    F64(8), F32(4), F16(2), BF16(2),
    I64(8), I32(4), I16(2), I8(1),
    U64(8), U32(4), U16(2), U8(1), BOOL(1),
    F8_E4M3(1), F8_E5M2(1);

    private final int bytes;

    SafetensorsDtype(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }

    /** The tensor type of the same bytes that Rewind's kernels compute with, or empty when there is none. */
    public Optional<GgmlType> ggmlType() {
        return switch (this) {
            case F32 -> Optional.of(GgmlType.F32);
            case F16 -> Optional.of(GgmlType.F16);
            case BF16 -> Optional.of(GgmlType.BF16);
            default -> Optional.empty();
        };
    }

    /** The type named {@code name} in a header, or empty when it is not a safetensors type. */
    public static Optional<SafetensorsDtype> byName(String name) {
        for (SafetensorsDtype t : values()) {
            if (t.name().equals(name)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }
}
