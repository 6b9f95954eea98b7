package dev.rewind.tools.fuzz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.rewind.engine.text.Escape;
import dev.rewind.tokenizer.chat.ChatTemplate;
import dev.rewind.tokenizer.chat.Message;
import dev.rewind.tokenizer.chat.RenderOptions;
import dev.rewind.tokenizer.chat.TemplateException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The chat-template target: the real templates of {@code ../shared/hf/*}/tokenizer_config.json and
 * {@code ../shared/chat-templates/llama-cpp-cases.jsonl}, mutated (characters flipped, inserted or
 * deleted, a cut, tags deleted, duplicated or swapped, Jinja tokens inserted) or given a hostile
 * construct (deep nesting, recursive macros, {@code range(10**9)}, strings repeated to gigabytes, loop
 * products), parsed and rendered on a fixed conversation, one case in eight through {@code rewind template
 * --template FILE} in-process (a file sometimes not UTF-8). Clean: a rendering, or one
 * {@link TemplateException} whose message is one visible line naming the line and column (on the command
 * line: a one-line refusal naming the file).
 */
final class ChatTemplateFuzz {

    /** A template and where it came from. */
    record Source(String name, String text) {
    }

    private static final Pattern TAG = Pattern.compile("\\{%-?.*?-?%}|\\{\\{-?.*?-?}}|\\{#.*?#}", Pattern.DOTALL);
    private static final Pattern POSITION = Pattern.compile("^chat template [a-z ]+ at line \\d+, column \\d+: .+");

    private static final String[] TOKENS = {"{%", "%}", "{{", "}}", "{#", "#}", "{%-", "-%}", "{{-", "-}}", "(", ")", "[", "]", "{", "}",
            "'", "\"", "\\", "|", ".", ",", ":", "~", "+", "*", "**", "//", "%", "==", "!=", "not ", " in ", " is ", " and ", " or ",
            "if ", "else", "elif ", "endif", "for ", "endfor", "set ", "endset", "macro ", "endmacro", "call", "endcall", "filter ",
            "endfilter", "raw", "endraw", "break", "continue", "namespace(", "loop.", "messages", "message", "none", "true", "-1",
            "9223372036854775807", "1e308", "0.0", "\n", "\u0000", "\ud800", "\u202e", "\u001b[2J", "é", "😀"};

    /** Hostile programs; {@code %s} is replaced by a random number where it appears. */
    private static final String[] HOSTILE = {
            "{% for i in range(10**9) %}x{% endfor %}",
            "{{ range(10**9) | length }}",
            "{{ range(10**9) | list | length }}",
            "{{ 'x' * 10**9 }}",
            "{{ 'abcdefgh' * 134217728 }}",
            "{% set s = 'x' * 1000000 %}{% for i in range(1000) %}{{ s }}{% endfor %}",
            "{% set s = 'x' * 1000000 %}{{ (s ~ s ~ s ~ s) * 100 }}",
            "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}",
            "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
            "{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}.{% endfor %}{% endfor %}{% endfor %}",
            "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
            "{% macro f(n) %}{{ f(n) ~ f(n) }}{% endmacro %}{{ f(0) }}",
            "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
            "{% macro g() %}{{ caller() }}{% endmacro %}{% call g() %}{% call g() %}x{% endcall %}{% endcall %}",
            "{{ 2 ** 10000 }}", "{{ 2 ** -1 }}", "{{ 10 ** 400 }}", "{{ 9223372036854775807 + 1 }}", "{{ -9223372036854775808 // -1 }}",
            "{{ -9223372036854775808 % -1 }}", "{{ 1 / 0 }}", "{{ 1 // 0 }}", "{{ 1 % 0 }}", "{{ 1.0e308 * 10 }}",
            "{{ (range(100000) | list) * 100000 }}", "{{ [0] * 10**9 }}", "{{ 'x' | center(10**9) }}", "{{ 'x' | indent(10**9) }}",
            "{{ '%10000000000d' % 1 }}", "{{ '{:>999999999}'.format(1) }}", "{{ 'a'.ljust(10**9) }}", "{{ 'x' | wordwrap(1) }}",
            "{{ messages | tojson(indent=10**9) }}", "{{ 'x'.zfill(10**9) }}", "{{ 'x' * -1 }}", "{{ range(-10**18, 10**18) | length }}",
            "{{ range(0, 10, 0) | list }}", "{{ 'ab'.split('') }}", "{{ ''.join(['x'] * 10000000) }}",
            "{{ 'a'.replace('', 'xxxxxxxxxx') * 100000 }}", "{% for m in messages %}{% set messages = messages + messages %}{% endfor %}",
            "{% set x = [] %}{% for i in range(10**7) %}{% set _ = x.append(x) %}{% endfor %}", "{% set x = [] %}{% set _ = x.append(x) %}{{ x }}",
            "{% set d = {} %}{% set _ = d.update({'a': d}) %}{{ d | tojson }}", "{{ strftime_now('%' * 100000) }}",
            "{{ raise_exception('line one\\nline two \\u001b[2J') }}", "{{ '\\n' * 5 }}{{ undefined_fn() }}", "{{ x.y.z.w }}",
            "{{ messages[10**18] }}", "{{ messages[-10**18] }}", "{{ messages[::0] }}", "{{ 'abc'[::-10**18] }}",
            "{{ 'abc'[10**18:] }}", "{{ (1, 2)[5] }}", "{{ {'a': 1}['b'] }}", "{{ none.x }}", "{{ none() }}", "{{ 1 | int(base=99) }}",
            "{{ 'ZZ' | int(base=36) }}", "{{ 1e309 | int }}", "{{ 'nan' | float | int }}", "{{ 10**18 | round(-400) }}",
            "{{ 1.5 | round(10**9) }}", "{{ 'x' | truncate(-5) }}", "{{ [1,2] | batch(0) }}", "{{ [1,2] | slice(0) }}",
            "{{ range(5) | batch(10**9) | list }}", "{{ 'x' * 16777216 }}", "{{ 'x' * 16777217 }}", "{{ ('x' * 8388608) ~ ('x' * 8388609) }}",
    };

    private final List<Source> sources;
    private final Path work;
    private final Path messages;
    private long counter;
    private static final List<Message> CONVERSATION = List.of(new Message("system", "You are helpful."), new Message("user", "Hello"),
            new Message("assistant", "Hi there"), new Message("user", "Who are you?"));

    private ChatTemplateFuzz(List<Source> sources, Path work, Path messages) {
        this.sources = sources;
        this.work = work;
        this.messages = messages;
    }

    /** The templates of {@code shared}'s hf folders and llama.cpp cases; {@code work} holds the template files of command-line cases. */
    static ChatTemplateFuzz load(Path shared, Path work) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<Source> sources = new ArrayList<>();
        try (var folders = Files.list(shared.resolve("hf"))) {
            for (Path folder : folders.sorted().toList()) {
                Path config = folder.resolve("tokenizer_config.json");
                if (Files.isRegularFile(config)) {
                    JsonNode t = json.readTree(config.toFile()).path("chat_template");
                    if (t.isTextual()) {
                        sources.add(new Source(folder.getFileName() + "/tokenizer_config.json", t.asText()));
                    } else if (t.isArray()) {
                        for (JsonNode named : t) {
                            sources.add(new Source(folder.getFileName() + "/" + named.path("name").asText(), named.path("template").asText()));
                        }
                    }
                }
            }
        }
        List<String> cases = Files.readAllLines(shared.resolve("chat-templates/llama-cpp-cases.jsonl"));
        for (String line : cases) {
            if (!line.isBlank()) {
                JsonNode c = json.readTree(line);
                sources.add(new Source("llama-cpp-cases/" + c.path("name").asText(), c.path("template").asText()));
            }
        }
        if (sources.size() < 10) {
            throw new IOException(shared + ": found only " + sources.size() + " chat templates in hf/*/tokenizer_config.json and "
                    + "chat-templates/llama-cpp-cases.jsonl");
        }
        Path messages = work.resolve("chat-template-messages.json");
        Files.writeString(messages, "[{\"role\": \"system\", \"content\": \"You are helpful.\"}, {\"role\": \"user\", \"content\": \"Hello\"},"
                + " {\"role\": \"assistant\", \"content\": \"Hi there\"}, {\"role\": \"user\", \"content\": \"Who are you?\"}]");
        return new ChatTemplateFuzz(List.copyOf(sources), work, messages);
    }

    Outcome run(long caseSeed, String[] input) throws IOException {
        SplittableRandom random = new SplittableRandom(caseSeed);
        Source source = sources.get(random.nextInt(sources.size()));
        List<String> done = new ArrayList<>();
        String text = source.text();
        if (random.nextInt(6) == 0) {
            String hostile = HOSTILE[random.nextInt(HOSTILE.length)];
            if (random.nextBoolean()) {
                text = hostile;
                done.add("hostile " + hostile);
            } else {
                int at = random.nextInt(text.length() + 1);
                text = text.substring(0, at) + hostile + text.substring(at);
                done.add("hostile " + hostile + " at " + at);
            }
        } else if (random.nextInt(8) == 0) {
            int depth = 1 + random.nextInt(random.nextBoolean() ? 2000 : 100_000);
            text = switch (random.nextInt(4)) {
                case 0 -> "{{ " + "(".repeat(depth) + "1" + ")".repeat(depth) + " }}";
                case 1 -> "{{ " + "[".repeat(depth) + "]".repeat(depth) + " }}";
                case 2 -> "{% if true %}".repeat(depth) + "x" + "{% endif %}".repeat(depth);
                default -> "{{ " + "-".repeat(depth) + "1 }}";
            };
            done.add("nested " + depth + " deep");
        }
        int edits = random.nextInt(4);
        for (int i = 0; i < edits && !text.isEmpty(); i++) {
            text = edit(text, random, done);
        }
        Map<String, Object> extra = new LinkedHashMap<>();
        extra.put("bos_token", "<s>");
        extra.put("eos_token", "</s>");
        if (random.nextInt(4) == 0) {
            extra.put("tools", List.of(Map.of("type", "function", "function", Map.of("name", "get_weather", "parameters", Map.of()))));
        }
        RenderOptions options = RenderOptions.DEFAULT.withDialect(random.nextInt(3) == 0 ? RenderOptions.Dialect.LLAMA_CPP : RenderOptions.Dialect.JINJA);
        boolean generationPrompt = random.nextBoolean();
        input[0] = source.name() + ": " + (done.isEmpty() ? "as is" : String.join("; ", done)) + "; " + text.length() + " chars "
                + Escape.quote(Escape.excerpt(text, 160));
        if (random.nextInt(8) == 0) {
            return commandLine(text, random, input, generationPrompt, options.dialect());
        }
        try {
            ChatTemplate template = ChatTemplate.parse(text);
            String out = template.render(CONVERSATION, generationPrompt, extra, options);
            if (out.length() > options.limits().maxOutputChars()) {
                return new Outcome.Unclean("rendered " + out.length() + " chars, over the limit of " + options.limits().maxOutputChars());
            }
            return new Outcome.Success();
        } catch (TemplateException e) {
            String message = e.getMessage();
            if (!POSITION.matcher(message).matches()) {
                return new Outcome.Unclean("a template error without its position: " + message);
            }
            return Fuzzer.refusal(message);
        }
    }

    /**
     * The template as a {@code --template FILE} of {@code rewind template} in-process (sometimes with a byte that is
     * not UTF-8): accepted, or one line naming the file.
     */
    private Outcome commandLine(String text, SplittableRandom random, String[] input, boolean generationPrompt,
                                RenderOptions.Dialect dialect) throws IOException {
        byte[] bytes = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (bytes.length > 0 && random.nextInt(3) == 0) {
            int at = random.nextInt(bytes.length);
            bytes[at] = (byte) new int[]{0xff, 0xc3, 0x80, 0xe9, 0xed}[random.nextInt(5)];
            input[0] += "; byte " + at + " made invalid UTF-8";
        }
        input[0] += "; through rewind template";
        Path file = work.resolve("template-" + counter++ + ".jinja");
        Files.write(file, bytes);
        try {
            List<String> args = new ArrayList<>(List.of("template", "--template", file.toString(), "--messages", messages.toString(),
                    "--bos-token", "<s>", "--eos-token", "</s>", "--chat-dialect", dialect == RenderOptions.Dialect.LLAMA_CPP ? "llama-cpp" : "hf"));
            if (generationPrompt) {
                args.add("--add-generation-prompt");
            }
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
            int exit = dev.rewind.tools.RewindCli.run(args.toArray(String[]::new),
                    new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8),
                    new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
            Outcome o = Fuzzer.classify(exit, out.toString(java.nio.charset.StandardCharsets.UTF_8), err.toString(java.nio.charset.StandardCharsets.UTF_8));
            if (o instanceof Outcome.CleanError e && !e.message().contains(file.toString())) {
                return new Outcome.Unclean("a refusal that does not name the template file: " + e.message());
            }
            return o;
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** One random edit of {@code text}. */
    private static String edit(String text, SplittableRandom random, List<String> done) {
        List<int[]> tags = new ArrayList<>();
        Matcher m = TAG.matcher(text);
        while (m.find()) {
            tags.add(new int[]{m.start(), m.end()});
        }
        int at = random.nextInt(text.length());
        switch (random.nextInt(tags.isEmpty() ? 4 : 8)) {
            case 0 -> {
                done.add("char " + at + " flipped");
                return text.substring(0, at) + (char) random.nextInt(0x80) + text.substring(at + 1);
            }
            case 1 -> {
                int n = 1 + random.nextInt(Math.min(20, text.length() - at));
                done.add(n + " chars deleted at " + at);
                return text.substring(0, at) + text.substring(at + n);
            }
            case 2 -> {
                done.add("cut at " + at);
                return text.substring(0, at);
            }
            case 3 -> {
                String token = TOKENS[random.nextInt(TOKENS.length)];
                done.add("inserted " + Escape.quote(token) + " at " + at);
                return text.substring(0, at) + token + text.substring(at);
            }
            case 4 -> {
                int[] t = tags.get(random.nextInt(tags.size()));
                done.add("tag at " + t[0] + " deleted");
                return text.substring(0, t[0]) + text.substring(t[1]);
            }
            case 5 -> {
                int[] t = tags.get(random.nextInt(tags.size()));
                int times = random.nextInt(4) == 0 ? 1 + random.nextInt(200) : 1;
                done.add("tag at " + t[0] + " duplicated x" + times);
                return text.substring(0, t[1]) + text.substring(t[0], t[1]).repeat(times) + text.substring(t[1]);
            }
            case 6 -> {
                int[] a = tags.get(random.nextInt(tags.size()));
                int[] b = tags.get(random.nextInt(tags.size()));
                if (a[0] > b[0]) {
                    int[] s = a;
                    a = b;
                    b = s;
                }
                if (a[1] > b[0]) {
                    return text;
                }
                done.add("tags at " + a[0] + " and " + b[0] + " swapped");
                return text.substring(0, a[0]) + text.substring(b[0], b[1]) + text.substring(a[1], b[0]) + text.substring(a[0], a[1])
                        + text.substring(b[1]);
            }
            default -> {
                int[] t = tags.get(random.nextInt(tags.size()));
                int inside = t[0] + 2 + random.nextInt(Math.max(1, t[1] - t[0] - 4));
                String token = TOKENS[random.nextInt(TOKENS.length)];
                done.add("inserted " + Escape.quote(token) + " inside the tag at " + t[0]);
                return text.substring(0, inside) + token + text.substring(inside);
            }
        }
    }
}
