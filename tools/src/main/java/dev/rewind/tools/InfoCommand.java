package dev.rewind.tools;

import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.safetensors.SafetensorsFolder;
import dev.rewind.engine.safetensors.SafetensorsTensor;
import dev.rewind.models.HfConfig;
import dev.rewind.engine.gguf.GgufTensorInfo;
import dev.rewind.engine.gguf.GgufValue;
import dev.rewind.engine.tensor.GgmlType;
import dev.rewind.engine.text.Escape;
import dev.rewind.engine.tensor.WeightMatrix;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/** {@code rewind info}: what a GGUF file or a Hugging Face folder holds. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Print a GGUF file's metadata, its tensor table (name, type, shape, bytes) and the number of tensors of each type; "
                + "for a Hugging Face folder, what its config.json describes and the safetensors tensor table.")
final class InfoCommand implements Callable<Integer> {

    @Parameters(paramLabel = "PATH", description = "GGUF file or Hugging Face model folder.")
    Path path;

    @Option(names = "--tensor", paramLabel = "NAME",
            description = "Print only this tensor: its type, shape and where its bytes lie in the file.")
    String tensor;

    @Option(names = "--block", paramLabel = "N",
            description = "With --tensor: print block N of the tensor (counted from 0 along its rows) byte by byte and "
                    + "the weights it decodes to (for F32/F16/BF16 a block is one value).")
    Long block;

    private final PrintStream out;

    InfoCommand(PrintStream out) {
        this.out = out;
    }

    /**
     * Every key, value and tensor name comes from the file, so each goes through {@link Escape}: no byte
     * of the file reaches the terminal as a control character, and each entry stays on its line.
     */
    @Override
    public Integer call() throws Exception {
        if (java.nio.file.Files.isDirectory(path)) {
            return folder();
        }
        if (block != null && tensor == null) {
            throw new UserException("--block needs --tensor");
        }
        try (GgufFile file = GgufFile.open(path)) {
            if (tensor != null) {
                return tensor(file);
            }
            out.printf("file: %s%nGGUF version %d, %d bytes, alignment %d, data at offset %d%n%n",
                    Escape.visible(path.toString()), file.version(), file.fileSize(), file.alignment(), file.dataOffset());
            out.printf("metadata (%d keys):%n", file.metadata().asMap().size());
            for (Map.Entry<String, GgufValue> e : file.metadata().asMap().entrySet()) {
                out.printf("  %-45s %s%n", Escape.excerpt(e.getKey(), 200), Escape.excerpt(e.getValue().toString(), 160));
            }
            out.printf("%ntensors (%d):%n", file.tensors().size());
            List<String> names = file.tensors().stream().map(t -> Escape.excerpt(t.name(), 200)).toList();
            int width = names.stream().mapToInt(String::length).max().orElse(4);
            out.printf("  %-" + width + "s  %-7s  %-22s  %12s%n", "name", "type", "shape", "bytes");
            long total = 0;
            for (int i = 0; i < names.size(); i++) {
                GgufTensorInfo t = file.tensors().get(i);
                String shape = Arrays.stream(t.shape()).mapToObj(Long::toString).collect(Collectors.joining(" × "));
                out.printf("  %-" + width + "s  %-7s  %-22s  %12d%n", names.get(i), t.type(), shape, t.byteSize());
                total += t.byteSize();
            }
            out.printf("  %-" + width + "s  %-7s  %-22s  %12d%n", "total", "", "", total);
            printTypeCounts(file);
        }
        return 0;
    }

    /** {@code --tensor NAME [--block N]}: one tensor, and optionally one of its blocks decoded. */
    private int tensor(GgufFile file) {
        GgufTensorInfo t = file.tensor(tensor).orElseThrow(() -> new UserException(
                Escape.visible(path.toString()) + " has no tensor named '" + Escape.excerpt(tensor, 200) + "'"));
        GgmlType type = t.type();
        long blocks = t.byteSize() / type.blockBytes();
        String shape = Arrays.stream(t.shape()).mapToObj(Long::toString).collect(Collectors.joining(" × "));
        out.printf("tensor %s: %s, shape %s, %d bytes at file offset %d%n", Escape.visible(t.name()), type, shape, t.byteSize(),
                t.fileOffset());
        out.printf("%d blocks of %d weights in %d bytes%n", blocks, type.blockSize(), type.blockBytes());
        if (block == null) {
            return 0;
        }
        if (block < 0 || block >= blocks) {
            throw new UserException("--block " + block + " is outside tensor " + Escape.visible(t.name()) + " (blocks 0 to "
                    + (blocks - 1) + ")");
        }
        if (!type.isSupported() || t.dimensions() > 2) {
            throw new UserException("cannot decode a block of " + type + " tensor " + Escape.visible(t.name())
                    + (t.dimensions() > 2 ? " (more than 2 dimensions)" : " (no Rewind kernels)"));
        }
        int cols = Math.toIntExact(t.dim(0));
        int rows = Math.toIntExact(t.elementCount() / cols);
        long blocksPerRow = cols / type.blockSize();
        int row = (int) (block / blocksPerRow);
        int first = (int) (block % blocksPerRow) * type.blockSize();
        long offset = t.fileOffset() + block * type.blockBytes();
        out.printf("block %d = row %d, columns %d to %d, bytes %d to %d of the file:%n", block, row, first,
                first + type.blockSize() - 1, offset, offset + type.blockBytes() - 1);
        MemorySegment bytes = file.segment().asSlice(offset, type.blockBytes());
        for (int i = 0; i < type.blockBytes(); i += 16) {
            StringBuilder line = new StringBuilder(String.format("  %6d ", i));
            for (int j = i; j < Math.min(i + 16, type.blockBytes()); j++) {
                line.append(String.format(" %02x", bytes.get(ValueLayout.JAVA_BYTE, j) & 0xff));
            }
            out.println(line);
        }
        float[] weights = new float[cols];
        WeightMatrix.of(t.name(), type, file.tensorData(t), rows, cols).dequantizeRow(row, weights, 0);
        out.println("weights:");
        for (int i = 0; i < type.blockSize(); i += 8) {
            StringBuilder line = new StringBuilder(String.format("  %6d ", i));
            for (int j = i; j < Math.min(i + 8, type.blockSize()); j++) {
                line.append(String.format(java.util.Locale.ROOT, " %11.7f", weights[first + j]));
            }
            out.println(line);
        }
        return 0;
    }

    /**
     * One line per tensor type: how many tensors and bytes, and whether Rewind has kernels for it
     * (a weight matrix of a type without kernels makes the model refuse to load).
     */
    private void printTypeCounts(GgufFile file) {
        Map<GgmlType, long[]> byType = new EnumMap<>(GgmlType.class);
        for (GgufTensorInfo t : file.tensors()) {
            long[] countAndBytes = byType.computeIfAbsent(t.type(), k -> new long[2]);
            countAndBytes[0]++;
            countAndBytes[1] += t.byteSize();
        }
        out.printf("%ntensor types (%d):%n", byType.size());
        for (Map.Entry<GgmlType, long[]> e : byType.entrySet()) {
            long count = e.getValue()[0];
            out.printf("  %-7s  %5d tensor%s  %12d bytes%s%n", e.getKey(), count, count == 1 ? " " : "s", e.getValue()[1],
                    e.getKey().isSupported() ? "" : "  (no Rewind kernels)");
        }
    }

    private int folder() throws java.io.IOException {
        HfConfig hf = HfConfig.read(path);
        try (SafetensorsFolder st = SafetensorsFolder.open(path)) {
            out.printf("folder: %s%n%s, %d shard(s), %d bytes%n%s (rope scaling %s, tied output %s)%n%n", path, hf.className(),
                    st.shards().size(), st.fileSize(), hf.config(), hf.ropeScaling(), hf.tied());
            out.printf("tensors (%d):%n", st.tensors().size());
            int width = st.tensors().stream().mapToInt(t -> t.name().length()).max().orElse(4);
            out.printf("  %-" + width + "s  %-7s  %-22s  %12s%n", "name", "dtype", "shape", "bytes");
            long total = 0;
            for (SafetensorsTensor t : st.tensors()) {
                String shape = Arrays.stream(t.shape()).mapToObj(Long::toString).collect(Collectors.joining(" × "));
                out.printf("  %-" + width + "s  %-7s  %-22s  %12d%n", t.name(), t.dtype(), shape, t.byteSize());
                total += t.byteSize();
            }
            out.printf("  %-" + width + "s  %-7s  %-22s  %12d%n", "total", "", "", total);
        }
        return 0;
    }
}
