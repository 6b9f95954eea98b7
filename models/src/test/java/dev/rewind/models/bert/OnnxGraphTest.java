package dev.rewind.models.bert;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ONNX reader on hand-built protobuf: what it reads, and one-line refusals of what it cannot. */
class OnnxGraphTest {

    /** A TensorProto: name, float dims, raw data. */
    private static byte[] tensor(String name, long[] dims, int dataType, byte[] raw, int location) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        for (long d : dims) {
            out.writeInt64(1, d);
        }
        out.writeInt32(2, dataType);
        out.writeString(8, name);
        out.writeBytes(9, ByteString.copyFrom(raw));
        if (location != 0) {
            out.writeInt32(14, location);
        }
        out.flush();
        return bytes.toByteArray();
    }

    private static byte[] node(String op, String name, String[] inputs, String[] outputs) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        for (String i : inputs) {
            out.writeString(1, i);
        }
        for (String o : outputs) {
            out.writeString(2, o);
        }
        out.writeString(3, name);
        out.writeString(4, op);
        out.flush();
        return bytes.toByteArray();
    }

    /** A ModelProto whose graph holds one initializer (GraphProto field 5) and the given nodes (field 1). */
    private static byte[] model(byte[] initializer, byte[]... nodes) throws IOException {
        ByteArrayOutputStream graph = new ByteArrayOutputStream();
        CodedOutputStream g = CodedOutputStream.newInstance(graph);
        g.writeByteArray(5, initializer);
        for (byte[] n : nodes) {
            g.writeByteArray(1, n);
        }
        g.flush();
        ByteArrayOutputStream model = new ByteArrayOutputStream();
        CodedOutputStream m = CodedOutputStream.newInstance(model);
        m.writeInt64(1, 8); // ir_version
        m.writeByteArray(7, graph.toByteArray());
        m.flush();
        return model.toByteArray();
    }

    private static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }

    @Test
    void readsNodesAndInitializersWithoutCopyingTheirData() throws IOException {
        byte[] file = model(tensor("w", new long[] {2, 3}, OnnxGraph.FLOAT, floats(1, 2, 3, 4, 5, 6), 0),
                node("MatMul", "mm", new String[] {"x", "w"}, new String[] {"y"}));
        OnnxGraph g = OnnxGraph.parse(file, "t.onnx");
        assertEquals(1, g.nodes().size());
        assertEquals("MatMul", g.nodes().getFirst().opType());
        assertEquals(java.util.List.of("x", "w"), g.nodes().getFirst().inputs());
        OnnxGraph.Initializer w = g.initializers().get("w");
        assertArrayEquals(new long[] {2, 3}, w.dims());
        assertEquals(24, w.length());
        assertEquals(5f, ByteBuffer.wrap(file, w.offset() + 16, 4).order(ByteOrder.LITTLE_ENDIAN).getFloat());
    }

    @Test
    void badFilesAreRefusedNamingFileAndTensor() throws IOException {
        OnnxGraph.FormatException e = assertThrows(OnnxGraph.FormatException.class,
                () -> OnnxGraph.parse(model(tensor("w", new long[] {2, 3}, OnnxGraph.FLOAT, floats(1, 2), 0)), "a.onnx"));
        assertEquals("a.onnx: tensor 'w' of shape [2, 3] has 8 data bytes, not 24", e.getMessage());
        e = assertThrows(OnnxGraph.FormatException.class,
                () -> OnnxGraph.parse(model(tensor("w", new long[] {1}, OnnxGraph.FLOAT, floats(1), 1)), "b.onnx"));
        assertTrue(e.getMessage().contains("external file"), e.getMessage());
        byte[] good = model(tensor("w", new long[] {2, 3}, OnnxGraph.FLOAT, floats(1, 2, 3, 4, 5, 6), 0));
        e = assertThrows(OnnxGraph.FormatException.class,
                () -> OnnxGraph.parse(java.util.Arrays.copyOf(good, good.length - 5), "c.onnx"));
        assertTrue(e.getMessage().startsWith("c.onnx: not a well-formed ONNX"), e.getMessage());
        e = assertThrows(OnnxGraph.FormatException.class, () -> OnnxGraph.parse("not onnx at all".getBytes(), "d.onnx"));
        assertTrue(e.getMessage().startsWith("d.onnx:"), e.getMessage());
        e = assertThrows(OnnxGraph.FormatException.class, () -> OnnxGraph.parse(new byte[0], "e.onnx"));
        assertEquals("e.onnx: no graph (ModelProto field 7): not an ONNX model", e.getMessage());
    }

    @Test
    void aGraphThatIsNotBertIsRefused() throws IOException {
        byte[] file = model(tensor("w", new long[] {2, 3}, OnnxGraph.FLOAT, floats(1, 2, 3, 4, 5, 6), 0),
                node("MatMul", "mm", new String[] {"x", "w"}, new String[] {"y"}));
        try (Arena arena = Arena.ofConfined()) {
            OnnxGraph.FormatException e = assertThrows(OnnxGraph.FormatException.class,
                    () -> BertOnnxLoader.load(file, "m.onnx", arena));
            assertEquals("m.onnx: no initializer named *embeddings.word_embeddings.weight: not a BERT model", e.getMessage());
        }
    }
}
