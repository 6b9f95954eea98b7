package dev.rewind.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.rewind.models.bert.Embedder;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * {@code POST /v1/embeddings} as OpenAI defines it: {@code input} a string or a list of up to
 * {@link #MAX_INPUTS} non-empty strings (token-id arrays are refused), {@code model} absent or the
 * embedding model's name, {@code encoding_format} {@code float} (default) or {@code base64} (the
 * little-endian float32 bytes of each vector, as OpenAI's clients decode them). Texts longer than the
 * model's token limit are cut, as {@code rewind embed} does; {@code usage} counts the tokens encoded.
 */
final class EmbeddingsApi {

    /** Most texts in one request (OpenAI's bound). */
    static final int MAX_INPUTS = 2048;

    /** The response body and a log note. */
    record Answer(String body, String note) {
    }

    private EmbeddingsApi() {
    }

    static Answer answer(ObjectMapper json, JsonNode body, EmbeddingModel.Holder model, boolean shuttingDown) {
        if (!body.isObject()) {
            throw ApiException.invalid(null, "the request body must be a JSON object");
        }
        JsonNode m = body.get("model");
        if (m != null && !m.isNull()) {
            if (!m.isTextual()) {
                throw ApiException.invalid("model", "model must be a string");
            }
            if (!m.asText().equals(model.name())) {
                throw new ApiException(404, "invalid_request_error", "model", "model_not_found",
                        "the embedding model is '" + model.name() + "', not '" + m.asText() + "'");
            }
        }
        boolean base64 = false;
        JsonNode format = body.get("encoding_format");
        if (format != null && !format.isNull()) {
            if (!format.isTextual() || !(format.asText().equals("float") || format.asText().equals("base64"))) {
                throw ApiException.invalid("encoding_format", "encoding_format must be \"float\" or \"base64\", got " + format);
            }
            base64 = format.asText().equals("base64");
        }
        JsonNode dimensions = body.get("dimensions");
        if (dimensions != null && !dimensions.isNull()) {
            throw ApiException.invalid("dimensions", "dimensions is not supported (the model's vectors have a fixed length)");
        }
        List<String> texts = texts(body.get("input"));
        if (shuttingDown) {
            throw new ApiException(503, "server_error", null, "shutting_down", "the server is shutting down");
        }
        Embedder.Embeddings e = model.embed(texts);
        ObjectNode root = json.createObjectNode();
        root.put("object", "list");
        ArrayNode data = root.putArray("data");
        for (int i = 0; i < texts.size(); i++) {
            ObjectNode item = data.addObject();
            item.put("object", "embedding");
            item.put("index", i);
            float[] v = e.vectors()[i];
            if (base64) {
                ByteBuffer bytes = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
                for (float x : v) {
                    bytes.putFloat(x);
                }
                item.put("embedding", Base64.getEncoder().encodeToString(bytes.array()));
            } else {
                ArrayNode vector = item.putArray("embedding");
                for (float x : v) {
                    vector.add(x);
                }
            }
        }
        root.put("model", model.name());
        long tokens = e.totalTokens();
        root.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
        return new Answer(root.toString(), " inputs=" + texts.size() + " tokens=" + tokens);
    }

    private static List<String> texts(JsonNode input) {
        if (input == null || input.isNull()) {
            throw ApiException.invalid("input", "input is required: a string or a list of strings");
        }
        if (input.isTextual()) {
            if (input.asText().isEmpty()) {
                throw ApiException.invalid("input", "input is an empty string");
            }
            return List.of(input.asText());
        }
        if (!input.isArray()) {
            throw ApiException.invalid("input", "input must be a string or a list of strings, got " + kind(input));
        }
        if (input.isEmpty()) {
            throw ApiException.invalid("input", "input is an empty list");
        }
        if (input.size() > MAX_INPUTS) {
            throw ApiException.invalid("input", "input has " + input.size() + " texts; the limit is " + MAX_INPUTS);
        }
        List<String> texts = new ArrayList<>(input.size());
        for (int i = 0; i < input.size(); i++) {
            JsonNode t = input.get(i);
            if (t.isNumber() || (t.isArray() && !t.isEmpty() && t.get(0).isNumber())) {
                throw ApiException.invalid("input", "input[" + i + "] is " + kind(t)
                        + ": token-id input is not supported (the embedding model has its own tokenizer); send text");
            }
            if (!t.isTextual()) {
                throw ApiException.invalid("input", "input[" + i + "] must be a string, got " + kind(t));
            }
            if (t.asText().isEmpty()) {
                throw ApiException.invalid("input", "input[" + i + "] is an empty string");
            }
            texts.add(t.asText());
        }
        return texts;
    }

    private static String kind(JsonNode node) {
        return switch (node.getNodeType()) {
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            case STRING -> "a string";
            default -> node.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
        };
    }
}
