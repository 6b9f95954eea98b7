package dev.rewind.tokenizer;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToIntFunction;

/**
 * The {@code post_processor} of a {@code tokenizer.json}: what {@code add_special_tokens} adds around the
 * tokens of one sequence. Only single sequences are encoded here, so a template's {@code pair} part is not
 * used. ByteLevel adds nothing (it only adjusts offsets, which Rewind does not keep).
 */
sealed interface HfPostProcessor {

    /** The ids of one sequence with this processor's special tokens added if {@code addSpecial}. */
    int[] process(int[] ids, boolean addSpecial);

    /** The special tokens put before the sequence when {@code addSpecial} is true. */
    int[] prefix();

    /** The special tokens put after the sequence when {@code addSpecial} is true. */
    int[] suffix();

    /**
     * A template ({@code TemplateProcessing}, and {@code BertProcessing}/{@code RobertaProcessing}, which are
     * fixed templates): the special tokens in front and behind the sequence.
     */
    record Template(int[] prefix, int[] suffix) implements HfPostProcessor {
        @Override
        public int[] process(int[] ids, boolean addSpecial) {
            if (!addSpecial || (prefix.length == 0 && suffix.length == 0)) {
                return ids;
            }
            int[] out = new int[prefix.length + ids.length + suffix.length];
            System.arraycopy(prefix, 0, out, 0, prefix.length);
            System.arraycopy(ids, 0, out, prefix.length, ids.length);
            System.arraycopy(suffix, 0, out, prefix.length + ids.length, suffix.length);
            return out;
        }
    }

    /** Several processors, one after the other. */
    record Sequence(List<HfPostProcessor> steps) implements HfPostProcessor {
        @Override
        public int[] process(int[] ids, boolean addSpecial) {
            int[] out = ids;
            for (HfPostProcessor step : steps) {
                out = step.process(out, addSpecial);
            }
            return out;
        }

        @Override
        public int[] prefix() {
            IntList all = new IntList(4);
            for (HfPostProcessor step : steps.reversed()) {
                for (int id : step.prefix()) {
                    all.add(id);
                }
            }
            return all.toArray();
        }

        @Override
        public int[] suffix() {
            IntList all = new IntList(4);
            for (HfPostProcessor step : steps) {
                for (int id : step.suffix()) {
                    all.add(id);
                }
            }
            return all.toArray();
        }
    }

    /** No special tokens: what ByteLevel and a missing post-processor add. */
    static HfPostProcessor none() {
        return new Template(new int[0], new int[0]);
    }

    /**
     * The post-processor described at {@code at}.
     *
     * @param tokenId the id of a token given by its text, or -1
     * @throws TokenizerException naming the path for an unknown or malformed processor
     */
    static HfPostProcessor read(JsonCursor at, ToIntFunction<String> tokenId) {
        String type = at.get("type").string();
        return switch (type) {
            case "TemplateProcessing" -> template(at);
            case "ByteLevel" -> none();
            case "BertProcessing", "RobertaProcessing" -> new Template(
                    new int[] {specialPair(at.get("cls"), tokenId)}, new int[] {specialPair(at.get("sep"), tokenId)});
            case "Sequence" -> new Sequence(at.get("processors").elements().stream()
                    .map(p -> read(p, tokenId)).toList());
            default -> throw at.get("type").error("unsupported post-processor '" + type
                    + "' (supported: TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing, Sequence)");
        };
    }

    /** {@code ["<s>", 0]}: a token's text and id, which must agree with the vocabulary. */
    private static int specialPair(JsonCursor at, ToIntFunction<String> tokenId) {
        List<JsonCursor> pair = at.elements();
        if (pair.size() != 2) {
            throw at.error("expected [text, id]");
        }
        String text = pair.get(0).string();
        int id = pair.get(1).integer(0, Integer.MAX_VALUE);
        if (tokenId.applyAsInt(text) != id) {
            throw at.error("the token '" + text + "' does not have id " + id);
        }
        return id;
    }

    /** The single-sequence part of a template: special tokens around {@code $A}. */
    private static Template template(JsonCursor at) {
        Map<String, int[]> specials = new HashMap<>();
        at.find("special_tokens").ifPresent(map -> {
            for (JsonCursor entry : map.fieldValues()) {
                List<JsonCursor> ids = entry.get("ids").elements();
                int[] values = new int[ids.size()];
                for (int i = 0; i < values.length; i++) {
                    values[i] = ids.get(i).integer(0, Integer.MAX_VALUE); // checked against the vocabulary later
                }
                specials.put(entry.key(), values);
            }
        });
        IntList prefix = new IntList(2);
        IntList suffix = new IntList(2);
        boolean seenSequence = false;
        JsonCursor single = at.get("single");
        if (single.isString()) {
            throw single.error("a template written as a string is not supported; expected an array");
        }
        for (JsonCursor item : single.elements()) {
            if (item.find("Sequence").isPresent()) {
                JsonCursor sequence = item.get("Sequence").get("id");
                if (!sequence.string().equals("A")) {
                    throw sequence.error("a single-sequence template can only hold sequence A");
                }
                if (seenSequence) {
                    throw sequence.error("sequence A appears twice");
                }
                seenSequence = true;
            } else if (item.find("SpecialToken").isPresent()) {
                JsonCursor name = item.get("SpecialToken").get("id");
                int[] ids = specials.get(name.string());
                if (ids == null) {
                    throw name.error("'" + name.string() + "' is not in post_processor.special_tokens");
                }
                for (int id : ids) {
                    (seenSequence ? suffix : prefix).add(id);
                }
            } else {
                throw item.error("expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
            }
        }
        if (!seenSequence) {
            throw single.error("the template has no sequence A");
        }
        return new Template(prefix.toArray(), suffix.toArray());
    }
}
