package dev.rewind.tokenizer;

import java.text.Normalizer;
import java.util.List;
import java.util.Locale;

/**
 * The {@code normalizer} of a {@code tokenizer.json}: rewrites each piece of text between added tokens before
 * it is pre-tokenized. The kinds are those of the Hugging Face tokenizers library, with its behaviour.
 */
sealed interface HfNormalizer {

    /** The normalized text. */
    String normalize(String text);

    /** Unicode normalization to NFC, NFD, NFKC or NFKD. */
    record Unicode(Normalizer.Form form) implements HfNormalizer {
        @Override
        public String normalize(String text) {
            return Normalizer.normalize(text, form);
        }
    }

    /** Every match of {@code pattern} replaced by {@code content}. */
    record Replace(HfPattern pattern, String content) implements HfNormalizer {
        @Override
        public String normalize(String text) {
            return pattern.replaceAll(text, content);
        }
    }

    /** {@code prefix} put in front of a text that is not empty. */
    record Prepend(String prefix) implements HfNormalizer {
        @Override
        public String normalize(String text) {
            return text.isEmpty() ? text : prefix + text;
        }
    }

    /** Whitespace (Unicode White_Space) removed from the left and/or right end. */
    record Strip(boolean left, boolean right) implements HfNormalizer {
        @Override
        public String normalize(String text) {
            int start = 0;
            int end = text.length();
            while (left && start < end && isWhiteSpace(text.codePointAt(start))) {
                start += Character.charCount(text.codePointAt(start));
            }
            while (right && end > start && isWhiteSpace(text.codePointBefore(end))) {
                end -= Character.charCount(text.codePointBefore(end));
            }
            return text.substring(start, end);
        }
    }

    /** Unicode lower case (not locale-sensitive). */
    record Lowercase() implements HfNormalizer {
        @Override
        public String normalize(String text) {
            return text.toLowerCase(Locale.ROOT);
        }
    }

    /** Several normalizers, one after the other. */
    record Sequence(List<HfNormalizer> steps) implements HfNormalizer {
        @Override
        public String normalize(String text) {
            String out = text;
            for (HfNormalizer step : steps) {
                out = step.normalize(out);
            }
            return out;
        }
    }

    /** The Unicode White_Space property, which Rust's {@code char::is_whitespace} tests. */
    static boolean isWhiteSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F
                || cp == 0x3000;
    }

    /**
     * The normalizer described at {@code at}.
     *
     * @throws TokenizerException naming the path for an unknown or malformed normalizer
     */
    static HfNormalizer read(JsonCursor at) {
        String type = at.get("type").string();
        return switch (type) {
            case "NFC" -> new Unicode(Normalizer.Form.NFC);
            case "NFD" -> new Unicode(Normalizer.Form.NFD);
            case "NFKC" -> new Unicode(Normalizer.Form.NFKC);
            case "NFKD" -> new Unicode(Normalizer.Form.NFKD);
            case "Replace" -> new Replace(HfPattern.read(at.get("pattern")), at.get("content").string());
            case "Prepend" -> new Prepend(at.get("prepend").string());
            case "Strip" -> new Strip(at.bool("strip_left", true), at.bool("strip_right", true));
            case "Lowercase" -> new Lowercase();
            case "Sequence" -> new Sequence(at.get("normalizers").elements().stream().map(HfNormalizer::read).toList());
            default -> throw at.get("type").error("unsupported normalizer '" + type
                    + "' (supported: NFC, NFD, NFKC, NFKD, Replace, Prepend, Strip, Lowercase, Sequence)");
        };
    }
}
