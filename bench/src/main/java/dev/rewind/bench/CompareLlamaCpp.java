package dev.rewind.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs llama.cpp's {@code llama-bench} and {@code rewind bench} on the same files, interleaved
 * round by round (so both see the same machine state), and prints each test's median tokens/s
 * of both engines and their ratio, with the CPU model and the load average before and after.
 * The comparison the speed issue asks for; not part of CI (it needs a llama.cpp build).
 *
 * <pre>
 * bench/compare-llama-cpp --llama-bench PATH -m FILE[,FILE] [-p 64,512] [-n 128] [-t 2] [-r 3] [--rounds 3] [--rewind-arg ARG]... [--lock FILE]
 * </pre>
 *
 * <p>{@code --lock FILE} runs every engine invocation under {@code flock FILE}, so that on a shared
 * machine other jobs that take the same lock (builds, tests) never run during a measurement.
 */
public final class CompareLlamaCpp {

    private CompareLlamaCpp() {
    }

    public static void main(String[] args) throws Exception {
        String llamaBench = null;
        String models = null;
        String prompts = "64,512";
        String gens = "128";
        String threads = String.valueOf(Runtime.getRuntime().availableProcessors());
        String reps = "3";
        int rounds = 3;
        String rewind = Path.of(System.getProperty("rewind.home", "."), "tools", "rewind").toString();
        List<String> rewindArgs = new ArrayList<>();
        List<String> llamaArgs = new ArrayList<>();
        List<String> prefix = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (a) {
                case "--llama-bench" -> { llamaBench = v; i++; }
                case "-m" -> { models = v; i++; }
                case "-p" -> { prompts = v; i++; }
                case "-n" -> { gens = v; i++; }
                case "-t" -> { threads = v; i++; }
                case "-r" -> { reps = v; i++; }
                case "--rounds" -> { rounds = Integer.parseInt(v); i++; }
                case "--rewind" -> { rewind = v; i++; }
                case "--rewind-arg" -> { rewindArgs.add(v); i++; }
                case "--llama-arg" -> { llamaArgs.add(v); i++; }
                case "--lock" -> { prefix = List.of("flock", v); i++; }
                default -> {
                    System.err.println("compare-llama-cpp: unknown argument " + a);
                    System.exit(2);
                }
            }
        }
        if (llamaBench == null || models == null) {
            System.err.println("usage: compare-llama-cpp --llama-bench PATH -m FILE[,FILE] [-p 64,512] [-n 128] [-t N] [-r 3] [--rounds 3]"
                    + " [--rewind-arg ARG]... [--llama-arg ARG]... [--lock FILE]");
            System.exit(2);
        }
        List<String> common = List.of("-p", prompts, "-n", gens, "-t", threads, "-r", reps, "-o", "json");
        Map<String, List<Double>> llama = new LinkedHashMap<>();
        Map<String, List<Double>> ours = new LinkedHashMap<>();
        String loadBefore = load();
        for (int round = 1; round <= rounds; round++) {
            for (String model : models.split(",")) {
                List<String> l = new ArrayList<>(prefix);
                l.addAll(List.of(llamaBench, "-m", model));
                l.addAll(common);
                l.addAll(llamaArgs);
                collect(run(l), llama, "llama.cpp round " + round);
                List<String> r = new ArrayList<>(prefix);
                r.addAll(List.of(rewind, "bench", "-m", model));
                r.addAll(common);
                r.addAll(rewindArgs);
                collect(run(r), ours, "rewind round " + round);
            }
        }
        String loadAfter = load();
        System.out.printf("CPU: %s; load average before %s, after %s; %d interleaved rounds, %s repetitions each, medians%n%n",
                cpu(), loadBefore, loadAfter, rounds, reps);
        System.out.println("| model | test | llama.cpp t/s | Rewind t/s | Rewind / llama.cpp |");
        System.out.println("|---|---|---:|---:|---:|");
        for (Map.Entry<String, List<Double>> e : llama.entrySet()) {
            List<Double> r = ours.get(e.getKey());
            double a = median(e.getValue());
            double b = r == null ? Double.NaN : median(r);
            String[] key = e.getKey().split("\t");
            System.out.printf(Locale.ROOT, "| %s | %s | %.2f | %.2f | %.2f |%n", key[0], key[1], a, b, b / a);
        }
    }

    private static String run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] out = p.getInputStream().readAllBytes();
        int status = p.waitFor();
        if (status != 0) {
            throw new IOException(String.join(" ", command) + " exited with " + status);
        }
        return new String(out, StandardCharsets.UTF_8);
    }

    /** Adds each test's avg_ts, keyed by model file name and test name. */
    private static void collect(String json, Map<String, List<Double>> into, String what) throws IOException {
        int start = json.indexOf('[');
        if (start < 0) {
            throw new IOException(what + ": no JSON array in the output");
        }
        JsonNode tests = new ObjectMapper().readTree(json.substring(start));
        for (JsonNode t : tests) {
            int p = t.get("n_prompt").asInt();
            int n = t.get("n_gen").asInt();
            String test = p > 0 && n == 0 ? "pp" + p : n > 0 && p == 0 ? "tg" + n : "pp" + p + "+tg" + n;
            String key = Path.of(t.get("model_filename").asText()).getFileName() + "\t" + test;
            into.computeIfAbsent(key, k -> new ArrayList<>()).add(t.get("avg_ts").asDouble());
        }
    }

    private static double median(List<Double> v) {
        List<Double> s = new ArrayList<>(v);
        s.sort(null);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    private static String cpu() throws IOException {
        Path info = Path.of("/proc/cpuinfo");
        if (Files.exists(info)) {
            for (String line : Files.readAllLines(info)) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).strip() + ", " + Runtime.getRuntime().availableProcessors() + " cores";
                }
            }
        }
        return System.getProperty("os.arch");
    }

    private static String load() throws IOException {
        Path l = Path.of("/proc/loadavg");
        return Files.exists(l) ? String.join(" ", List.of(Files.readString(l).split(" ")).subList(0, 3)) : "?";
    }
}
