package dev.rewind.server;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.List;
import java.util.Map;

/**
 * A request's {@code "rewind"} object: which alignment method runs it and with which of the models
 * named at start-up.
 *
 * @param method     {@code rain}, {@code dera} or {@code aligner}
 * @param reference  DeRa: the reference model's name
 * @param lambda     DeRa: the aligned (served) model's weight
 * @param guardTopP  DeRa: the plausibility guard's top-p, or null
 * @param judge      RAIN: the judge model's name (null: the served model judges itself)
 * @param preset     RAIN: {@code hh}, {@code adv} or {@code truthful_qa}
 * @param maxSearches RAIN: inner searches per commit, or null for the preset's
 * @param aligner    Aligner: the corrector model's name
 * @param answer     Aligner: the answer to correct, or null to have the served model answer first
 */
record Alignment(String method, String reference, double lambda, Float guardTopP, String judge, String preset, Integer maxSearches,
                 String aligner, String answer) {

    static final List<String> METHODS = List.of("rain", "dera", "aligner");
    static final List<String> PRESETS = List.of("hh", "adv", "truthful_qa");

    /** Reads and checks the {@code rewind} object against the served models. */
    static Alignment parse(JsonNode rewind, Map<String, ServedModel> models) {
        if (!rewind.isObject()) {
            throw ApiException.invalid("rewind", "rewind must be an object such as {\"method\": \"rain\"}");
        }
        String method = text(rewind, "method");
        if (method == null) {
            throw ApiException.invalid("rewind.method", "rewind.method is required (rain, dera or aligner)");
        }
        if (!METHODS.contains(method)) {
            throw ApiException.invalid("rewind.method", "unknown rewind.method '" + method + "' (valid: rain, dera, aligner)");
        }
        return switch (method) {
            case "dera" -> {
                String reference = model(rewind, "reference", models, true);
                JsonNode l = rewind.get("lambda");
                if (l == null || !l.isNumber() || !Double.isFinite(l.asDouble()) || Math.abs(l.asDouble()) > 100) {
                    throw ApiException.invalid("rewind.lambda", "rewind.lambda must be a number between -100 and 100 (the aligned model's weight)");
                }
                Float guard = null;
                JsonNode g = rewind.get("guard_top_p");
                if (g != null && !g.isNull()) {
                    if (!g.isNumber() || !(g.asDouble() > 0 && g.asDouble() <= 1)) {
                        throw ApiException.invalid("rewind.guard_top_p", "rewind.guard_top_p must be a number in (0, 1]");
                    }
                    guard = (float) g.asDouble();
                }
                yield new Alignment(method, reference, l.asDouble(), guard, null, null, null, null, null);
            }
            case "rain" -> {
                String judge = model(rewind, "judge", models, false);
                String preset = text(rewind, "preset");
                if (preset != null && !PRESETS.contains(preset)) {
                    throw ApiException.invalid("rewind.preset", "unknown rewind.preset '" + preset + "' (valid: hh, adv, truthful_qa)");
                }
                Integer searches = null;
                JsonNode s = rewind.get("max_searches");
                if (s != null && !s.isNull()) {
                    if (!s.isIntegralNumber() || s.asLong() < 1 || s.asLong() > 1000) {
                        throw ApiException.invalid("rewind.max_searches", "rewind.max_searches must be an integer between 1 and 1000");
                    }
                    searches = s.asInt();
                }
                yield new Alignment(method, null, 0, null, judge, preset == null ? "hh" : preset, searches, null, null);
            }
            default -> new Alignment(method, null, 0, null, null, null, null, model(rewind, "aligner", models, true), text(rewind, "answer"));
        };
    }

    private static String text(JsonNode node, String name) {
        JsonNode v = node.get(name);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw ApiException.invalid("rewind." + name, "rewind." + name + " must be a string");
        }
        return v.asText();
    }

    private static String model(JsonNode node, String name, Map<String, ServedModel> models, boolean required) {
        String value = text(node, name);
        if (value == null) {
            if (required) {
                throw ApiException.invalid("rewind." + name, "rewind." + name + " is required: the name of a model given with --model NAME=PATH");
            }
            return null;
        }
        if (!models.containsKey(value)) {
            throw ApiException.invalid("rewind." + name, "rewind." + name + " '" + value + "' is not a served model (models: "
                    + String.join(", ", models.keySet()) + ")");
        }
        return value;
    }
}
