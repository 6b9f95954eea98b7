package dev.rewind.models.bert;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the bundled MiniLM's loader refuses when its values are edited in place: one line naming the file. */
class OnnxLoaderRefusalsTest {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * An epsilon outside (0, 1) reached {@link BertConfig}'s IllegalArgumentException, which escaped without the
     * file's name (found reviewing the loader for the BERT fuzz target).
     */
    @Test
    void aLayerNormEpsilonOutOfRangeIsRefusedNamingTheFile() throws IOException {
        byte[] bytes;
        try (InputStream in = BertEmbedder.class.getResourceAsStream("/all-minilm-l6-v2.onnx")) {
            bytes = in.readAllBytes();
        }
        OnnxGraph graph = OnnxGraph.parse(bytes, "minilm.onnx");
        MemorySegment file = MemorySegment.ofArray(bytes);
        int patched = 0;
        for (OnnxGraph.Node n : graph.nodes()) {
            OnnxGraph.Initializer t = n.tensor();
            if (n.opType().equals("Constant") && t != null && t.dataType() == OnnxGraph.FLOAT && t.elements() == 1
                    && file.get(F32, t.offset()) == 1e-12f) {
                file.set(F32, t.offset(), 2.0f);
                patched++;
            }
        }
        assertTrue(patched > 0, "MiniLM's LayerNorm epsilon constants (1e-12) were found");
        try (Arena arena = Arena.ofConfined()) {
            OnnxGraph.FormatException e = assertThrows(OnnxGraph.FormatException.class, () -> BertOnnxLoader.load(bytes, "minilm.onnx", arena));
            assertTrue(e.getMessage().startsWith("minilm.onnx: the encoder's shape: LayerNorm epsilon 2.0"), e.getMessage());
        }
    }
}
