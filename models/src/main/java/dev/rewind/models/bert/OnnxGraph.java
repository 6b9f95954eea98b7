package dev.rewind.models.bert;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parts of an ONNX model file that Rewind reads: the graph's nodes (operator, inputs, outputs, the
 * attributes with a number) and its initializers (name, type, shape, where their bytes lie). The file is
 * protobuf; it is read with protobuf-java's {@link CodedInputStream} by the field numbers of the public
 * {@code onnx.proto} (ModelProto.graph = 7; GraphProto.node = 1, initializer = 5; NodeProto.input = 1,
 * output = 2, name = 3, op_type = 4, attribute = 5; AttributeProto.name = 1, f = 2, i = 3, t = 5;
 * TensorProto.dims = 1, data_type = 2, float_data = 4, int64_data = 7, name = 8, raw_data = 9,
 * data_location = 14). Unknown fields are skipped, as protobuf requires. Tensor data are not copied:
 * an {@link Initializer} records the offset of its {@code raw_data} in the file's bytes.
 *
 * @param nodes        the graph's nodes, in file order (ONNX requires a topological order)
 * @param initializers the initializers by name, in file order
 */
public record OnnxGraph(List<Node> nodes, Map<String, Initializer> initializers) {

    /** ONNX TensorProto.DataType FLOAT. */
    public static final int FLOAT = 1;
    /** ONNX TensorProto.DataType INT64. */
    public static final int INT64 = 7;

    /**
     * One node.
     *
     * @param name    its name (may be empty)
     * @param opType  its operator, e.g. {@code MatMul}
     * @param inputs  the names of its inputs
     * @param outputs the names of its outputs
     * @param numbers its float and integer attributes by name ({@code epsilon}, {@code axis} ...)
     * @param tensor  the {@code value} tensor of a {@code Constant} node, or null
     */
    public record Node(String name, String opType, List<String> inputs, List<String> outputs,
                       Map<String, Double> numbers, Initializer tensor) {
    }

    /**
     * One tensor stored in the file.
     *
     * @param name     its name
     * @param dataType the ONNX data type ({@link #FLOAT}, {@link #INT64} ...)
     * @param dims     its shape
     * @param offset   where its little-endian values start in the file's bytes
     * @param length   how many bytes they take
     */
    public record Initializer(String name, int dataType, long[] dims, int offset, int length) {

        /** The number of elements its shape says it has. */
        public long elements() {
            long n = 1;
            for (long d : dims) {
                n *= d;
            }
            return n;
        }
    }

    /** A file that is not an ONNX model Rewind can read; the message says what and where (byte offset). */
    public static final class FormatException extends IOException {
        FormatException(String message) {
            super(message);
        }
    }

    /**
     * Parses {@code bytes} (a whole ONNX file).
     *
     * @param bytes the file
     * @param name  the file's name, for messages
     * @throws FormatException if the bytes are not a well-formed ONNX model, or a tensor's data lie outside
     *                         the file or disagree with its shape, or its data are stored externally
     */
    public static OnnxGraph parse(byte[] bytes, String name) throws FormatException {
        try {
            CodedInputStream in = CodedInputStream.newInstance(bytes);
            in.setSizeLimit(Integer.MAX_VALUE);
            OnnxGraph graph = null;
            while (true) {
                int tag = in.readTag();
                if (tag == 0) {
                    break;
                }
                if (WireFormat.getTagFieldNumber(tag) == 7 && wire(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    int limit = in.pushLimit(in.readRawVarint32());
                    graph = graph(in, bytes, name);
                    in.popLimit(limit);
                } else {
                    in.skipField(tag);
                }
            }
            if (graph == null) {
                throw new FormatException(name + ": no graph (ModelProto field 7): not an ONNX model");
            }
            return graph;
        } catch (FormatException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new FormatException(name + ": not a well-formed ONNX (protobuf) file: " + e.getMessage());
        }
    }

    private static int wire(int tag) {
        return WireFormat.getTagWireType(tag);
    }

    private static OnnxGraph graph(CodedInputStream in, byte[] bytes, String name) throws IOException {
        List<Node> nodes = new ArrayList<>();
        Map<String, Initializer> initializers = new LinkedHashMap<>();
        while (!in.isAtEnd()) {
            int tag = in.readTag();
            int field = WireFormat.getTagFieldNumber(tag);
            if ((field == 1 || field == 5) && wire(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                int limit = in.pushLimit(in.readRawVarint32());
                if (field == 1) {
                    nodes.add(node(in, bytes, name));
                } else {
                    Initializer t = tensor(in, bytes, name);
                    if (initializers.putIfAbsent(t.name(), t) != null) {
                        throw new FormatException(name + ": initializer '" + t.name() + "' is given twice");
                    }
                }
                in.popLimit(limit);
            } else {
                in.skipField(tag);
            }
        }
        return new OnnxGraph(List.copyOf(nodes), initializers);
    }

    private static Node node(CodedInputStream in, byte[] bytes, String file) throws IOException {
        List<String> inputs = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        String name = "";
        String op = "";
        Map<String, Double> numbers = new LinkedHashMap<>();
        Initializer tensor = null;
        while (!in.isAtEnd()) {
            int tag = in.readTag();
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 1 -> inputs.add(in.readStringRequireUtf8());
                case 2 -> outputs.add(in.readStringRequireUtf8());
                case 3 -> name = in.readStringRequireUtf8();
                case 4 -> op = in.readStringRequireUtf8();
                case 5 -> {
                    int limit = in.pushLimit(in.readRawVarint32());
                    Initializer t = attribute(in, bytes, file, numbers);
                    if (t != null) {
                        tensor = t;
                    }
                    in.popLimit(limit);
                }
                default -> in.skipField(tag);
            }
        }
        return new Node(name, op, List.copyOf(inputs), List.copyOf(outputs), Map.copyOf(numbers), tensor);
    }

    /** Reads one attribute: its number into {@code numbers}, or returns its tensor. */
    private static Initializer attribute(CodedInputStream in, byte[] bytes, String file, Map<String, Double> numbers)
            throws IOException {
        String name = "";
        Double number = null;
        Initializer tensor = null;
        while (!in.isAtEnd()) {
            int tag = in.readTag();
            switch (WireFormat.getTagFieldNumber(tag)) {
                case 1 -> name = in.readStringRequireUtf8();
                case 2 -> number = (double) in.readFloat();
                case 3 -> number = (double) in.readInt64();
                case 5 -> {
                    int limit = in.pushLimit(in.readRawVarint32());
                    tensor = tensor(in, bytes, file);
                    in.popLimit(limit);
                }
                default -> in.skipField(tag);
            }
        }
        if (number != null) {
            numbers.put(name, number);
        }
        return tensor;
    }

    private static Initializer tensor(CodedInputStream in, byte[] bytes, String file) throws IOException {
        List<Long> dims = new ArrayList<>();
        int dataType = 0;
        String name = "";
        int offset = -1;
        int length = 0;
        while (!in.isAtEnd()) {
            int tag = in.readTag();
            int field = WireFormat.getTagFieldNumber(tag);
            switch (field) {
                case 1 -> {
                    if (wire(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                        int limit = in.pushLimit(in.readRawVarint32());
                        while (!in.isAtEnd()) {
                            dims.add(in.readInt64());
                        }
                        in.popLimit(limit);
                    } else {
                        dims.add(in.readInt64());
                    }
                }
                case 2 -> dataType = in.readInt32();
                case 8 -> name = in.readStringRequireUtf8();
                case 4, 7, 9 -> {
                    // float_data / int64_data are packed; raw_data is plain bytes. Only one may hold the values.
                    if (wire(tag) != WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                        throw new FormatException(file + ": tensor '" + name + "': unpacked field " + field
                                + " at byte " + in.getTotalBytesRead() + " (Rewind reads packed or raw data)");
                    }
                    length = in.readRawVarint32();
                    offset = in.getTotalBytesRead();
                    if (length < 0 || (long) offset + length > bytes.length) {
                        throw new FormatException(file + ": tensor '" + name + "': " + length + " data bytes at byte "
                                + offset + " run past the end of the file (" + bytes.length + " bytes)");
                    }
                    in.skipRawBytes(length);
                }
                case 14 -> {
                    if (in.readInt32() != 0) {
                        throw new FormatException(file + ": tensor '" + name + "' keeps its data in an external file,"
                                + " which Rewind does not read");
                    }
                }
                default -> in.skipField(tag);
            }
        }
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        Initializer t = new Initializer(name, dataType, shape, Math.max(offset, 0), length);
        int elementBytes = switch (dataType) {
            case FLOAT -> 4;
            case INT64 -> 8;
            default -> 0;
        };
        for (long d : shape) {
            if (d < 0 || d > Integer.MAX_VALUE) {
                throw new FormatException(file + ": tensor '" + name + "' has dimension " + d);
            }
        }
        if (elementBytes > 0 && t.elements() * elementBytes != length) {
            throw new FormatException(file + ": tensor '" + name + "' of shape " + java.util.Arrays.toString(shape)
                    + " has " + length + " data bytes, not " + t.elements() * elementBytes);
        }
        return t;
    }
}
