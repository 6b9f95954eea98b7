package dev.rewind.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.rewind.engine.sampling.SamplingParams;
import dev.rewind.tokenizer.Tokenizer;
import dev.rewind.tokenizer.chat.Message;
import dev.rewind.tokenizer.chat.TemplateException;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * A parsed and checked OpenAI request: which endpoint, for which model, streamed or not, and the
 * {@link GenerationRequest} it asks for. Every field is checked by type and range before anything
 * is sized from it; a bad one is a 400 naming it.
 *
 * @param chat         /v1/chat/completions (else /v1/completions)
 * @param model        the served model's name
 * @param generation   the tokens and decoding rules
 * @param stream       answer as server-sent events
 * @param includeUsage {@code stream_options.include_usage}
 * @param alignment    the {@code rewind} object, or null for plain decoding in the shared batch
 * @param text         for RAIN the prompt as text (a chat rendered by its template), for the Aligner the question;
 *                     null otherwise
 */
record ApiRequest(boolean chat, String model, GenerationRequest generation, boolean stream, boolean includeUsage,
                  Alignment alignment, String text) {

    /** Most stop strings (OpenAI's limit). */
    static final int MAX_STOPS = 4;
    /** Most {@code top_logprobs} of a chat request (OpenAI's limit); completions allow 5. */
    static final int MAX_TOP_LOGPROBS = 20;

    private static final SecureRandom SEEDS = new SecureRandom();

    /**
     * Checks {@code body} against the endpoint's schema and tokenizes its prompt.
     *
     * @throws ApiException 400 naming the field, 404 for an unknown model
     */
    static ApiRequest parse(boolean chat, JsonNode body, Map<String, ServedModel> models, String defaultModel, ServerOptions limits,
                            long deadlineNanos) {
        if (body == null || !body.isObject()) {
            throw ApiException.invalid(null, "the request body must be a JSON object");
        }
        String model = optionalString(body, "model");
        if (model == null) {
            model = defaultModel;
        }
        ServedModel served = models.get(model);
        if (served == null) {
            throw new ApiException(404, "invalid_request_error", "model", "model_not_found",
                    "the model '" + model + "' does not exist; this server offers " + String.join(", ", models.keySet()));
        }
        if (!defaultModel.equals(model)) {
            throw ApiException.invalid("model", "the model '" + model + "' is loaded for alignment only; generate with '" + defaultModel + "'");
        }
        refuseUnsupported(body, chat);
        JsonNode rewind = present(body, "rewind");
        Alignment alignment = rewind == null ? null : Alignment.parse(rewind, models);
        Tokenizer tokenizer = served.loaded().tokenizer();
        int[] prompt = chat ? chatPrompt(body, served) : completionPrompt(body, tokenizer);
        String text = alignment == null || alignment.method().equals("dera") ? null : alignmentText(body, chat, served, alignment);
        int context = limits.context();
        if (prompt.length == 0) {
            throw ApiException.invalid(chat ? "messages" : "prompt", "the prompt has no tokens");
        }
        if (prompt.length > limits.maxPromptTokens() || prompt.length >= context) {
            throw new ApiException(400, "invalid_request_error", chat ? "messages" : "prompt", "context_length_exceeded",
                    "the prompt has " + prompt.length + " tokens; this server takes at most "
                            + Math.min(limits.maxPromptTokens(), context - 1) + " (context " + context + ")");
        }
        Integer maxTokens = optionalInt(body, "max_completion_tokens", 1, limits.maxTokens());
        if (maxTokens == null) {
            maxTokens = optionalInt(body, "max_tokens", 1, limits.maxTokens());
        }
        int max = maxTokens != null ? maxTokens : limits.maxTokens();
        Integer n = optionalInt(body, "n", 1, limits.maxN());
        float temperature = optionalFloat(body, "temperature", 0, 2, 1f);
        float topP = optionalFloat(body, "top_p", Math.ulp(0f), 1, 1f);
        Integer topK = optionalInt(body, "top_k", 0, Integer.MAX_VALUE);
        float minP = optionalFloat(body, "min_p", 0, 1, 0f);
        float repeatPenalty = optionalFloat(body, "repeat_penalty", Math.ulp(0f), 100, 1f);
        Integer repeatLastN = optionalInt(body, "repeat_last_n", 0, context);
        Long seed = optionalLong(body, "seed");
        SamplingParams sampling = new SamplingParams(temperature, topK == null ? 0 : topK, topP, minP, repeatPenalty,
                repeatLastN == null ? 64 : repeatLastN, seed != null ? seed : SEEDS.nextLong());
        List<String> stop = stops(body);
        int topLogprobs = logprobs(body, chat);
        boolean stream = optionalBoolean(body, "stream", false);
        boolean includeUsage = false;
        JsonNode options = present(body, "stream_options");
        if (options != null) {
            if (!options.isObject()) {
                throw ApiException.invalid("stream_options", "stream_options must be an object");
            }
            includeUsage = optionalBoolean(options, "include_usage", false);
        }
        if (alignment != null && n != null && n != 1) {
            throw ApiException.invalid("n", "rewind." + alignment.method() + " answers one choice: n must be 1");
        }
        if (alignment != null && topLogprobs >= 0) {
            throw ApiException.invalid("logprobs", "logprobs are not reported for rewind." + alignment.method() + " requests");
        }
        GenerationRequest generation = new GenerationRequest(prompt, sampling, max, n == null ? 1 : n, stop, topLogprobs, deadlineNanos);
        return new ApiRequest(chat, model, generation, stream, includeUsage, alignment, text);
    }

    /** RAIN reads the prompt as text (a chat rendered by its template); the Aligner reads the last user message as the question. */
    private static String alignmentText(JsonNode body, boolean chat, ServedModel served, Alignment alignment) {
        if (!chat) {
            JsonNode prompt = present(body, "prompt");
            if (prompt.isArray() && prompt.size() == 1) {
                prompt = prompt.get(0);
            }
            if (!prompt.isTextual()) {
                throw ApiException.invalid("prompt", "rewind." + alignment.method() + " needs the prompt as a string, not token ids");
            }
            return prompt.asText();
        }
        JsonNode messages = body.get("messages");
        if (alignment.method().equals("aligner")) {
            for (int i = messages.size() - 1; i >= 0; i--) {
                if ("user".equals(messages.get(i).path("role").asText())) {
                    return content(messages.get(i).get("content"), "messages[" + i + "].content");
                }
            }
            throw ApiException.invalid("messages", "rewind.aligner needs a user message: the question");
        }
        List<Message> list = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            String r = messages.get(i).get("role").asText();
            list.add(new Message(r.equals("developer") ? "system" : r, content(messages.get(i).get("content"), "messages[" + i + "].content")));
        }
        return served.chat().render(list, true);
    }

    private static void refuseUnsupported(JsonNode body, boolean chat) {
        for (String name : List.of("tools", "functions")) {
            JsonNode v = present(body, name);
            if (v != null && !(v.isArray() && v.isEmpty())) {
                throw ApiException.invalid(name, name + " (function calling) is not supported by this server");
            }
        }
        for (String name : List.of("presence_penalty", "frequency_penalty")) {
            JsonNode v = present(body, name);
            if (v != null && (!v.isNumber() || v.asDouble() != 0)) {
                throw ApiException.invalid(name, name + " is not supported (only 0); use repeat_penalty");
            }
        }
        JsonNode bias = present(body, "logit_bias");
        if (bias != null && !(bias.isObject() && bias.isEmpty())) {
            throw ApiException.invalid("logit_bias", "logit_bias is not supported");
        }
        JsonNode format = present(body, "response_format");
        if (format != null && !(format.isObject() && "text".equals(format.path("type").asText()))) {
            throw ApiException.invalid("response_format", "only response_format {\"type\": \"text\"} is supported");
        }
        if (!chat) {
            if (optionalBoolean(body, "echo", false)) {
                throw ApiException.invalid("echo", "echo is not supported");
            }
            if (optionalString(body, "suffix") != null) {
                throw ApiException.invalid("suffix", "suffix is not supported");
            }
            Integer bestOf = optionalInt(body, "best_of", 1, 1);
            if (bestOf != null && bestOf != 1) {
                throw ApiException.invalid("best_of", "best_of is not supported");
            }
        }
    }

    private static int[] chatPrompt(JsonNode body, ServedModel served) {
        JsonNode messages = present(body, "messages");
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw ApiException.invalid("messages", "messages must be a non-empty array of {role, content} objects");
        }
        if (served.chat() == null) {
            throw ApiException.invalid("messages", "the model '" + served.name() + "' has no chat template; start the server with "
                    + "--chat-template FILE or use /v1/completions");
        }
        List<Message> list = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String where = "messages[" + i + "]";
            if (!m.isObject()) {
                throw ApiException.invalid(where, where + " must be an object");
            }
            JsonNode role = m.get("role");
            if (role == null || !role.isTextual()) {
                throw ApiException.invalid(where + ".role", where + ".role must be a string");
            }
            String r = role.asText();
            if (!List.of("system", "developer", "user", "assistant", "tool").contains(r)) {
                throw ApiException.invalid(where + ".role", where + ".role '" + r + "' is not one of system, developer, user, assistant, tool");
            }
            list.add(new Message(r.equals("developer") ? "system" : r, content(m.get("content"), where + ".content")));
        }
        try {
            return served.chat().encode(list, true);
        } catch (TemplateException e) {
            throw ApiException.invalid("messages", "the chat template of '" + served.name() + "' failed: " + e.getMessage());
        }
    }

    /** A message's text: a string, null (an empty turn), or an array of {@code {"type": "text", "text": ...}} parts. */
    private static String content(JsonNode content, String where) {
        if (content == null || content.isNull()) {
            return "";
        }
        if (content.isTextual()) {
            return content.asText();
        }
        if (content.isArray()) {
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < content.size(); i++) {
                JsonNode part = content.get(i);
                if (!part.isObject() || !"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw ApiException.invalid(where + "[" + i + "]", where + "[" + i + "] must be a {\"type\": \"text\", \"text\": ...} part "
                            + "(images and audio are not supported)");
                }
                text.append(part.get("text").asText());
            }
            return text.toString();
        }
        throw ApiException.invalid(where, where + " must be a string or an array of text parts");
    }

    private static int[] completionPrompt(JsonNode body, Tokenizer tokenizer) {
        JsonNode prompt = present(body, "prompt");
        if (prompt == null) {
            throw ApiException.invalid("prompt", "prompt is required");
        }
        if (prompt.isArray() && prompt.size() == 1 && (prompt.get(0).isTextual() || prompt.get(0).isArray())) {
            prompt = prompt.get(0);
        }
        if (prompt.isTextual()) {
            return tokenizer.encode(prompt.asText(), true, true);
        }
        if (prompt.isArray() && !prompt.isEmpty() && prompt.get(0).isNumber()) {
            int[] ids = new int[prompt.size()];
            int vocabulary = tokenizer.vocabularySize();
            for (int i = 0; i < ids.length; i++) {
                JsonNode id = prompt.get(i);
                if (!id.isIntegralNumber() || !id.canConvertToInt() || id.asInt() < 0 || id.asInt() >= vocabulary) {
                    throw ApiException.invalid("prompt", "prompt[" + i + "] must be a token id between 0 and " + (vocabulary - 1));
                }
                ids[i] = id.asInt();
            }
            return ids;
        }
        if (prompt.isArray()) {
            throw ApiException.invalid("prompt", "prompt must be one string or one array of token ids (batches of prompts are not supported)");
        }
        throw ApiException.invalid("prompt", "prompt must be a string or an array of token ids");
    }

    private static List<String> stops(JsonNode body) {
        JsonNode stop = present(body, "stop");
        if (stop == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        if (stop.isTextual()) {
            out.add(stop.asText());
        } else if (stop.isArray()) {
            if (stop.size() > MAX_STOPS) {
                throw ApiException.invalid("stop", "stop takes at most " + MAX_STOPS + " strings, got " + stop.size());
            }
            for (Iterator<JsonNode> it = stop.elements(); it.hasNext(); ) {
                JsonNode s = it.next();
                if (!s.isTextual()) {
                    throw ApiException.invalid("stop", "stop must be a string or an array of strings");
                }
                out.add(s.asText());
            }
        } else {
            throw ApiException.invalid("stop", "stop must be a string or an array of strings");
        }
        for (String s : out) {
            if (s.isEmpty()) {
                throw ApiException.invalid("stop", "a stop string must not be empty");
            }
        }
        return out;
    }

    /** -1 when no log-probabilities are asked for, else how many alternatives per token. */
    private static int logprobs(JsonNode body, boolean chat) {
        if (chat) {
            boolean on = optionalBoolean(body, "logprobs", false);
            Integer top = optionalInt(body, "top_logprobs", 0, MAX_TOP_LOGPROBS);
            if (top != null && !on) {
                throw ApiException.invalid("top_logprobs", "top_logprobs needs logprobs: true");
            }
            return on ? (top == null ? 0 : top) : -1;
        }
        Integer top = optionalInt(body, "logprobs", 0, 5);
        return top == null ? -1 : top;
    }

    /** The field's value, or null when it is absent or JSON null. */
    private static JsonNode present(JsonNode body, String name) {
        JsonNode v = body.get(name);
        return v == null || v.isNull() ? null : v;
    }

    private static String optionalString(JsonNode body, String name) {
        JsonNode v = present(body, name);
        if (v == null) {
            return null;
        }
        if (!v.isTextual()) {
            throw ApiException.invalid(name, name + " must be a string");
        }
        return v.asText();
    }

    private static boolean optionalBoolean(JsonNode body, String name, boolean otherwise) {
        JsonNode v = present(body, name);
        if (v == null) {
            return otherwise;
        }
        if (!v.isBoolean()) {
            throw ApiException.invalid(name, name + " must be true or false");
        }
        return v.asBoolean();
    }

    private static Integer optionalInt(JsonNode body, String name, int min, int max) {
        JsonNode v = present(body, name);
        if (v == null) {
            return null;
        }
        if (!v.isIntegralNumber()) {
            throw ApiException.invalid(name, name + " must be an integer");
        }
        if (!v.canConvertToLong() || v.asLong() < min || v.asLong() > max) {
            throw ApiException.invalid(name, name + " must be between " + min + " and " + max + ", got " + v.asText());
        }
        return v.asInt();
    }

    private static Long optionalLong(JsonNode body, String name) {
        JsonNode v = present(body, name);
        if (v == null) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw ApiException.invalid(name, name + " must be a 64-bit integer");
        }
        return v.asLong();
    }

    private static float optionalFloat(JsonNode body, String name, float min, float max, float otherwise) {
        JsonNode v = present(body, name);
        if (v == null) {
            return otherwise;
        }
        if (!v.isNumber()) {
            throw ApiException.invalid(name, name + " must be a number");
        }
        double d = v.asDouble();
        if (!(d >= min && d <= max)) {
            throw ApiException.invalid(name, name + " must be between " + min + " and " + max + ", got " + v.asText());
        }
        return (float) d;
    }
}
