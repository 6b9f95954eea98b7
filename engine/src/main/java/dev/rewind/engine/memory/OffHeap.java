package dev.rewind.engine.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * Large off-heap allocations (packed weights, KV pages). On Linux, when this module may call
 * native code, they are anonymous {@code mmap}s marked with {@code madvise(MADV_HUGEPAGE)} before
 * they are touched, so that the kernel backs them with transparent huge pages where it can
 * ("madvise" is the usual THP setting): a matrix product streaming a gigabyte then takes 512
 * times fewer TLB misses, the memory is faulted in 2 MiB at a time, and nothing is zeroed twice.
 * Elsewhere they come from {@link Arena#allocate}, in 4 KiB pages. Either way the memory is
 * zeroed and is freed when the arena closes.
 */
public final class OffHeap {

    private OffHeap() {
    }

    /** The huge-page size this class aligns to. */
    public static final long HUGE_PAGE = 2L << 20;

    /** Below this, an allocation is not worth a huge page of its own. */
    private static final long HUGE_FROM = 4L << 20;

    /** Linux's MADV_HUGEPAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS. */
    private static final int MADV_HUGEPAGE = 14;
    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;

    /** The C library's mmap, munmap and madvise, when they can be called. */
    private record Native(MethodHandle mmap, MethodHandle munmap, MethodHandle madvise) {
    }

    private static final Optional<Native> NATIVE = lookup();

    /**
     * {@code bytes} of zeroed memory from {@code arena}; from {@value #HUGE_FROM} bytes up it is
     * aligned to {@link #HUGE_PAGE} and advised to use huge pages.
     */
    public static MemorySegment allocate(Arena arena, long bytes) {
        if (bytes < HUGE_FROM || NATIVE.isEmpty()) {
            return arena.allocate(Math.max(bytes, 1), bytes < HUGE_FROM ? 64 : HUGE_PAGE);
        }
        Native c = NATIVE.get();
        // Ask for one huge page more, so that an aligned range of the rounded size fits inside.
        long rounded = Math.ceilDiv(bytes, HUGE_PAGE) * HUGE_PAGE;
        long mapped = rounded + HUGE_PAGE;
        MemorySegment base;
        try {
            base = (MemorySegment) c.mmap().invokeExact(MemorySegment.NULL, mapped, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1, 0L);
        } catch (Throwable t) {
            throw new IllegalStateException("mmap failed", t);
        }
        if (base.address() == -1L || base.address() == 0L) {
            throw new OutOfMemoryError("cannot map " + mapped + " bytes of anonymous memory");
        }
        long aligned = Math.ceilDiv(base.address(), HUGE_PAGE) * HUGE_PAGE;
        MemorySegment whole = base.reinterpret(mapped, arena, segment -> {
            try {
                int ignored = (int) c.munmap().invokeExact(segment, mapped);
            } catch (Throwable t) {
                // nothing to do: the process keeps the mapping
            }
        });
        MemorySegment range = whole.asSlice(aligned - base.address(), rounded);
        try {
            int ignored = (int) c.madvise().invokeExact(range, rounded, MADV_HUGEPAGE);
        } catch (Throwable t) {
            // advice only: the memory works the same without it
        }
        return range.asSlice(0, bytes);
    }

    /** True when large allocations are mapped and advised to use huge pages in this JVM. */
    public static boolean hugePagesAdvised() {
        return NATIVE.isPresent();
    }

    private static Optional<Native> lookup() {
        if (!System.getProperty("os.name", "").startsWith("Linux") || !OffHeap.class.getModule().isNativeAccessEnabled()
                || "false".equals(System.getProperty("rewind.hugepages"))) {
            return Optional.empty();
        }
        try {
            Linker linker = Linker.nativeLinker();
            var libc = linker.defaultLookup();
            MethodHandle mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(), FunctionDescriptor.of(ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_LONG));
            MethodHandle munmap = linker.downcallHandle(libc.find("munmap").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
            MethodHandle madvise = linker.downcallHandle(libc.find("madvise").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
            return Optional.of(new Native(mmap, munmap, madvise));
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }
}
