package dev.rewind.tools;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Keeps {@code docs/TOUR.md} true: every file path and every {@code Class.method} it names in backticks
 * exists, and every command of its {@code console} blocks runs (in this JVM, through {@link RewindCli})
 * and prints the lines shown under it.
 *
 * <p>Matching rules, which the tour states: the shown lines must appear in the output in that order and
 * next to each other, except that a line {@code ...} stands for any number of lines, and a shown line
 * ending in {@code ...} matches any line that starts with what precedes it. {@code 2>/dev/null} after a
 * command checks its stdout, {@code >/dev/null} its stderr, neither both (stdout first).
 */
class TourDocTest {

    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Path TOUR = ROOT.resolve("docs/TOUR.md");
    private static final Pattern CODE = Pattern.compile("`([^`\\n]+)`");
    private static final Pattern FILE = Pattern.compile("[A-Za-z0-9_./-]+\\.(java|md|sh)");
    private static final Pattern MEMBER = Pattern.compile("([A-Z][A-Za-z0-9_]*)\\.([A-Za-z][A-Za-z0-9_]*)(\\(\\))?");
    private static final List<String> SOURCE_ROOTS = List.of("engine", "tokenizer", "models", "align", "tools", "bench");

    static String tour() {
        try {
            return Files.readString(TOUR);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + TOUR, e);
        }
    }

    /** Spans in backticks outside fenced blocks. */
    static List<String> codeSpans() {
        List<String> spans = new ArrayList<>();
        boolean fenced = false;
        for (String line : tour().lines().toList()) {
            if (line.startsWith("```")) {
                fenced = !fenced;
                continue;
            }
            if (!fenced) {
                Matcher m = CODE.matcher(line);
                while (m.find()) {
                    spans.add(m.group(1));
                }
            }
        }
        return spans;
    }

    @Test
    void everyFileTheTourNamesExists() {
        Set<String> files = new LinkedHashSet<>();
        for (String span : codeSpans()) {
            if (FILE.matcher(span).matches()) {
                files.add(span);
            }
        }
        assertTrue(files.size() >= 15, "the tour names its files: " + files);
        for (String f : files) {
            Path p = f.startsWith("../") ? ROOT.resolve(f).normalize() : ROOT.resolve(f);
            if (f.startsWith("../shared/")) {
                p = CliTest.shared().getParent().resolve(f.substring("../shared/".length()));
            }
            assertTrue(Files.isRegularFile(p), "docs/TOUR.md names " + f + ", which does not exist");
        }
        assertTrue(Files.isRegularFile(ROOT.resolve("tools/rewind")), "the launcher");
    }

    @Test
    void everyClassAndMethodTheTourNamesExists() throws IOException {
        Set<String> members = new LinkedHashSet<>();
        for (String span : codeSpans()) {
            if (FILE.matcher(span).matches()) {
                continue;
            }
            Matcher m = MEMBER.matcher(span);
            if (m.matches()) {
                members.add(m.group(1) + "." + m.group(2));
            }
        }
        assertTrue(members.size() >= 40, "the tour names its methods: " + members);
        List<String> missing = new ArrayList<>();
        for (String member : members) {
            String type = member.substring(0, member.indexOf('.'));
            String name = member.substring(member.indexOf('.') + 1);
            List<Path> sources = sourcesOf(type);
            if (sources.isEmpty()) {
                missing.add(member + " (no " + type + ".java)");
                continue;
            }
            boolean found = false;
            for (Path source : sources) {
                String text = Files.readString(source);
                found |= Character.isUpperCase(name.charAt(0))
                        ? Pattern.compile("\\b(class|record|interface|enum)\\s+" + name + "\\b").matcher(text).find()
                        : declares(text, name);
            }
            if (!found) {
                missing.add(member);
            }
        }
        assertEquals(List.of(), missing, "docs/TOUR.md names members that do not exist");
    }

    /** Whether {@code text} declares a method (or a record component) called {@code name}. */
    static boolean declares(String text, String name) {
        return Pattern.compile("(?m)^\\s+(?:@\\w+\\s+)*(?:(?:public|private|protected|static|final|synchronized|default|abstract)\\s+)*"
                + "[\\w<>\\[\\],.? ]+\\s+" + name + "\\s*\\(").matcher(text).find()
                || Pattern.compile("\\brecord\\s+\\w+\\s*\\([^)]*\\b" + name + "\\b").matcher(text).find();
    }

    static List<Path> sourcesOf(String type) throws IOException {
        List<Path> found = new ArrayList<>();
        for (String module : SOURCE_ROOTS) {
            for (String kind : List.of("src/main/java", "src/test/java")) {
                Path src = ROOT.resolve(module).resolve(kind);
                if (!Files.isDirectory(src)) {
                    continue;
                }
                try (Stream<Path> walk = Files.walk(src)) {
                    walk.filter(p -> p.getFileName().toString().equals(type + ".java")).forEach(found::add);
                }
            }
        }
        return found;
    }

    /** One shown command and the lines shown under it. */
    record Shown(int line, String command, List<String> expected) {
    }

    static List<Shown> commands() {
        List<Shown> shown = new ArrayList<>();
        List<String> lines = tour().lines().toList();
        boolean console = false;
        Shown current = null;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.startsWith("```")) {
                console = !console && line.equals("```console");
                current = null;
                continue;
            }
            if (!console) {
                continue;
            }
            if (line.startsWith("$ ")) {
                current = new Shown(i + 1, line.substring(2), new ArrayList<>());
                shown.add(current);
            } else if (current != null) {
                current.expected().add(line);
            }
        }
        return shown;
    }

    @TestFactory
    Stream<DynamicTest> everyCommandTheTourShowsPrintsWhatItSays() {
        List<Shown> shown = commands();
        assertTrue(shown.size() >= 9, "the tour shows its commands: " + shown.size());
        return shown.stream().map(s -> DynamicTest.dynamicTest("TOUR.md:" + s.line() + " " + s.command(), () -> check(s)));
    }

    private static void check(Shown s) {
        List<String> words = words(s.command());
        String stream = "both";
        if (words.getLast().equals("2>/dev/null")) {
            stream = "out";
            words.removeLast();
        } else if (words.getLast().equals(">/dev/null")) {
            stream = "err";
            words.removeLast();
        }
        assertEquals("tools/rewind", words.getFirst(), "the tour's commands run the launcher");
        String shared = CliTest.shared().getParent().toAbsolutePath().normalize().toString();
        String[] args = words.subList(1, words.size()).stream()
                .map(w -> w.startsWith("../shared/") ? shared + w.substring("../shared".length()) : w).toArray(String[]::new);
        CliTest.Run r = CliTest.run(args);
        String output = switch (stream) {
            case "out" -> r.out();
            case "err" -> r.err();
            default -> r.out() + r.err();
        };
        output = output.replace(shared, "../shared");
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        if (!matches(s.expected(), output.lines().toList())) {
            fail("TOUR.md line " + s.line() + ": `" + s.command() + "` printed\n" + output + "\ninstead of\n" + String.join("\n", s.expected()));
        }
    }

    /** The matching rules of the class comment. */
    static boolean matches(List<String> expected, List<String> actual) {
        return matchFrom(expected, 0, actual, 0, true);
    }

    private static boolean matchFrom(List<String> expected, int e, List<String> actual, int a, boolean anywhere) {
        if (e == expected.size()) {
            return true;
        }
        String want = expected.get(e);
        if (want.equals("...")) {
            return matchFrom(expected, e + 1, actual, a, true);
        }
        for (int i = a; i < actual.size(); i++) {
            if (lineMatches(want, actual.get(i)) && matchFrom(expected, e + 1, actual, i + 1, false)) {
                return true;
            }
            if (!anywhere) {
                return false;
            }
        }
        return false;
    }

    private static boolean lineMatches(String want, String got) {
        String g = got.stripTrailing();
        String w = want.stripTrailing();
        return w.endsWith("...") ? g.startsWith(w.substring(0, w.length() - 3)) : g.equals(w);
    }

    /** Splits a shell command line into words, honouring double quotes. */
    static List<String> words(String command) {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        boolean quoted = false;
        boolean any = false;
        for (char c : command.toCharArray()) {
            if (c == '"') {
                quoted = !quoted;
                any = true;
            } else if (c == ' ' && !quoted) {
                if (any) {
                    words.add(word.toString());
                    word.setLength(0);
                    any = false;
                }
            } else {
                word.append(c);
                any = true;
            }
        }
        if (any) {
            words.add(word.toString());
        }
        return words;
    }

    @Test
    void theMatchingRulesHold() {
        assertTrue(matches(List.of("b", "c"), List.of("a", "b", "c", "d")));
        assertFalse(matches(List.of("b", "d"), List.of("a", "b", "c", "d")), "shown lines are adjacent");
        assertTrue(matches(List.of("b", "...", "d"), List.of("a", "b", "c", "d")));
        assertTrue(matches(List.of("x..."), List.of("xyz")));
        assertFalse(matches(List.of("x"), List.of("xyz")));
        assertEquals(List.of("generate", "-p", "Once upon a time", "-n", "3"), words("generate -p \"Once upon a time\" -n 3"));
    }
}
