package dev.rewind.models;

import dev.rewind.engine.gguf.GgufFile;
import dev.rewind.engine.gguf.GgufTensorInfo;
import dev.rewind.engine.parallel.WorkerPool;
import dev.rewind.engine.tensor.GgmlType;
import dev.rewind.engine.tensor.IQ4_XSPacked;
import dev.rewind.engine.tensor.Precision;
import dev.rewind.engine.tensor.Q2_KPacked;
import dev.rewind.engine.tensor.Q4_1Packed;
import dev.rewind.engine.tensor.WeightMatrix;
import dev.rewind.engine.tensor.WeightPacker;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tiny-llama per-type files of ../shared/models whose matrices got packed forms in this round
 * (Q4_1, Q5_1, Q2_K) run those packed forms on the FAST path, not the float kernels: every matrix
 * of the file's type packs into its packed record, and the loader's packer holds at least the bytes
 * of all of them (without the packed forms it held only the other types' matrices). Their logits
 * are held to llama.cpp's per-type tolerance by {@link ReferenceParityTest}.
 */
class PackedTypesLoadTest {

    static WorkerPool pool;

    @BeforeAll
    static void start() {
        pool = new WorkerPool(2);
    }

    @AfterAll
    static void stop() {
        pool.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"Q4_1", "Q5_1", "Q2_K"})
    void theLoaderPacksTheFilesMatrices(String typeName) throws IOException {
        GgmlType type = GgmlType.valueOf(typeName);
        Path path = SharedData.model("tiny-llama-" + typeName + ".gguf");
        long packedBytes = 0;
        int matrices = 0;
        try (GgufFile file = GgufFile.open(path); WeightPacker packer = new WeightPacker(pool)) {
            for (GgufTensorInfo t : file.tensors()) {
                // the embedding is read in place (rows are looked up, not multiplied)
                if (t.type() != type || t.shape().length != 2 || t.name().equals("token_embd.weight")) {
                    continue;
                }
                WeightMatrix m = WeightMatrix.of(t.name(), t.type(), file.tensorData(t), (int) t.shape()[1], (int) t.shape()[0]);
                WeightMatrix p = packer.pack(m);
                boolean packed = switch (type) {
                    case Q4_1, Q5_1 -> p instanceof Q4_1Packed;
                    case Q2_K -> p instanceof Q2_KPacked;
                    default -> p instanceof IQ4_XSPacked;
                };
                assertTrue(packed, t.name() + " of " + path.getFileName() + " packed as " + p.getClass().getSimpleName());
                assertEquals(type, p.type(), t.name());
                matrices++;
            }
            packedBytes = packer.bytes();
        }
        assertTrue(matrices > 0, path.getFileName() + " has no " + type + " matrix");
        try (LoadedModel loaded = ModelLoader.load(path, pool, Precision.FAST)) {
            assertTrue(loaded.packer().bytes() >= packedBytes, path.getFileName() + ": the loader packed "
                    + loaded.packer().bytes() + " bytes, the file's " + matrices + " " + type + " matrices alone take " + packedBytes);
        }
    }
}
