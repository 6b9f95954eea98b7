package dev.rewind.tools;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Draws a RAIN trace (the JSON {@code rewind rain --trace} writes) as SVG trees, one per commit, in a
 * standalone HTML page or one SVG picture. Each tree grows left to right from the root; a box is a
 * node's span with its visits and value, filled from red (value −1) through white (0) to green (+1),
 * grey when never visited; the committed path has a thick dark border; hovering a box shows its prior,
 * real visits, the judge's verdict and the text it judged. Children never visited are summarised as
 * "+k unvisited" on their parent.
 */
final class RainTraceView {

    private static final int BOX_W = 190;
    private static final int BOX_H = 38;
    private static final int GAP_X = 36;
    private static final int GAP_Y = 8;
    private static final int PAD = 10;

    private RainTraceView() {
    }

    /** A standalone HTML page: the prompt, the answer, then every commit's tree. */
    static String html(JsonNode trace) {
        StringBuilder sb = new StringBuilder();
        sb.append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>RAIN trace</title><style>\n")
                .append("body{font-family:sans-serif;margin:20px;color:#222}h1{font-size:20px}h2{font-size:16px;margin:24px 0 4px}")
                .append(".text{white-space:pre-wrap;font-family:monospace;background:#f6f6f6;padding:8px;border-radius:4px;max-height:12em;overflow:auto}")
                .append(".new{background:#ffe9a8}.legend span{display:inline-block;padding:2px 8px;margin-right:6px;border:1px solid #999}")
                .append("svg{display:block;margin:6px 0}\n</style></head><body>\n")
                .append("<h1>RAIN search trace</h1>\n")
                .append("<div class=\"legend\">value: <span style=\"background:").append(color(-1)).append("\">−1 harmful</span><span style=\"background:")
                .append(color(0)).append("\">0</span><span style=\"background:").append(color(1)).append("\">+1 harmless</span><span style=\"background:")
                .append(UNVISITED).append("\">not visited</span> thick border: committed path; hover a box for the judge's verdict</div>\n")
                .append("<h2>Prompt</h2><div class=\"text\">").append(escape(trace.path("prompt").asText())).append("</div>\n")
                .append("<h2>Answer</h2><div class=\"text\">").append(escape(trace.path("answer").asText())).append("</div>\n");
        for (JsonNode commit : trace.path("commits")) {
            JsonNode chosen = find(commit.path("root"), commit.path("chosen").asInt());
            sb.append("<h2>Commit ").append(commit.path("index").asInt() + 1).append(": ")
                    .append(commit.path("searches").asInt()).append(" searches (")
                    .append(commit.path("inherited").asInt()).append(" visits inherited), committed “")
                    .append(escape(chosen == null ? "?" : chosen.path("text").asText())).append("”</h2>\n");
            sb.append("<div class=\"text\">").append(escape(commit.path("before").asText())).append("<span class=\"new\">")
                    .append(escape(chosen == null ? "" : chosen.path("text").asText())).append("</span></div>\n");
            sb.append(commitSvg(commit)).append('\n');
        }
        return sb.append("</body></html>\n").toString();
    }

    /** One SVG picture with every commit's tree stacked, each under a caption. */
    static String svg(JsonNode trace) {
        List<String> parts = new ArrayList<>();
        int width = 600;
        int y = PAD;
        StringBuilder body = new StringBuilder();
        for (JsonNode commit : trace.path("commits")) {
            Layout layout = layout(commit.path("root"));
            JsonNode chosen = find(commit.path("root"), commit.path("chosen").asInt());
            body.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"14\" font-weight=\"bold\">Commit %d: %d searches, committed “%s”</text>%n",
                    PAD, y + 14, commit.path("index").asInt() + 1, commit.path("searches").asInt(),
                    escape(chosen == null ? "?" : chosen.path("text").asText())));
            y += 24;
            body.append("<g transform=\"translate(0,").append(y).append(")\">").append(treeBody(commit, layout)).append("</g>\n");
            y += layout.height + 16;
            width = Math.max(width, layout.width);
        }
        parts.add(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\">%n"
                + "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>%n", width, y + PAD));
        parts.add(body.toString());
        parts.add("</svg>\n");
        return String.join("", parts);
    }

    private static String commitSvg(JsonNode commit) {
        Layout layout = layout(commit.path("root"));
        return String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\">%s</svg>",
                layout.width, layout.height, treeBody(commit, layout));
    }

    private static final String UNVISITED = "#dddddd";

    /** Boxes placed: leaves on consecutive rows, a parent centred on its drawn children. */
    private record Placed(JsonNode node, int x, int y, List<Placed> children, int hidden) {
    }

    private record Layout(Placed root, int width, int height) {
    }

    private static Layout layout(JsonNode root) {
        int[] row = {0};
        int[] maxDepth = {0};
        Placed p = place(root, 0, row, maxDepth);
        int width = PAD * 2 + (maxDepth[0] + 1) * (BOX_W + GAP_X);
        int height = PAD * 2 + Math.max(1, row[0]) * (BOX_H + GAP_Y);
        return new Layout(p, width, height);
    }

    private static Placed place(JsonNode n, int depth, int[] row, int[] maxDepth) {
        maxDepth[0] = Math.max(maxDepth[0], depth);
        List<Placed> children = new ArrayList<>();
        int hidden = 0;
        for (JsonNode c : n.path("children")) {
            if (c.path("visits").asDouble() > 0 || c.path("realVisits").asInt() > 0) {
                children.add(place(c, depth + 1, row, maxDepth));
            } else {
                hidden++;
            }
        }
        int x = PAD + depth * (BOX_W + GAP_X);
        int y;
        if (children.isEmpty()) {
            y = PAD + row[0]++ * (BOX_H + GAP_Y);
        } else {
            y = (children.getFirst().y + children.getLast().y) / 2;
        }
        return new Placed(n, x, y, children, hidden);
    }

    private static String treeBody(JsonNode commit, Layout layout) {
        StringBuilder sb = new StringBuilder();
        List<Integer> path = new ArrayList<>();
        pathTo(commit.path("root"), commit.path("chosen").asInt(), path);
        edges(layout.root, sb);
        boxes(layout.root, sb, path, true);
        return sb.toString();
    }

    private static void edges(Placed p, StringBuilder sb) {
        for (Placed c : p.children) {
            sb.append(String.format(Locale.ROOT, "<path d=\"M%d,%d C%d,%d %d,%d %d,%d\" stroke=\"#999\" fill=\"none\"/>%n",
                    p.x + BOX_W, p.y + BOX_H / 2, p.x + BOX_W + GAP_X / 2, p.y + BOX_H / 2, c.x - GAP_X / 2, c.y + BOX_H / 2, c.x, c.y + BOX_H / 2));
            edges(c, sb);
        }
    }

    private static void boxes(Placed p, StringBuilder sb, List<Integer> committedPath, boolean isRoot) {
        JsonNode n = p.node;
        int id = n.path("id").asInt();
        boolean onPath = committedPath.contains(id);
        double visits = n.path("visits").asDouble();
        double value = n.path("value").asDouble();
        String fill = isRoot ? "#e8eefc" : visits > 0 ? color(value) : UNVISITED;
        String label = isRoot ? "root (committed state)" : shorten(n.path("text").asText(), 26);
        String stats = String.format(Locale.ROOT, "n=%s q=%+.2f p=%.2f%s", number(visits), value, n.path("prior").asDouble(),
                p.hidden > 0 ? "  +" + p.hidden + " unvisited" : "");
        sb.append("<g>");
        sb.append("<title>").append(escape(tooltip(n))).append("</title>");
        sb.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"5\" fill=\"%s\" stroke=\"%s\" stroke-width=\"%s\"/>",
                p.x, p.y, BOX_W, BOX_H, fill, onPath ? "#111" : "#777", onPath ? "3" : "1"));
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"12\" font-family=\"monospace\">%s</text>",
                p.x + 6, p.y + 15, escape(label)));
        sb.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#333\">%s</text>", p.x + 6, p.y + 31, escape(stats)));
        sb.append("</g>\n");
        for (Placed c : p.children) {
            boxes(c, sb, committedPath, false);
        }
    }

    private static String tooltip(JsonNode n) {
        StringBuilder t = new StringBuilder();
        t.append("span: ").append(n.path("text").asText()).append("\ntokens: ").append(n.path("tokens"))
                .append(String.format(Locale.ROOT, "%nvisits n=%s, real visits fn=%d, value q=%.4f, prior p=%.4f, depth %d, evaluated %d×",
                        number(n.path("visits").asDouble()), n.path("realVisits").asInt(), n.path("value").asDouble(),
                        n.path("prior").asDouble(), n.path("depth").asInt(), n.path("evaluations").asInt()));
        if (!n.path("score").isNull() && n.has("score")) {
            t.append("\njudge: ").append(n.path("score").asInt());
            for (JsonNode r : n.path("readouts")) {
                t.append(String.format(Locale.ROOT, "  [%s P1=%.4f P2=%.4f vote %d]", r.path("prompt").asText(), r.path("pFirst").asDouble(),
                        r.path("pSecond").asDouble(), r.path("vote").asInt()));
            }
            t.append("\njudged text: ").append(n.path("judgedText").asText());
        }
        return t.toString();
    }

    private static boolean pathTo(JsonNode n, int target, List<Integer> path) {
        path.add(n.path("id").asInt());
        if (n.path("id").asInt() == target) {
            return true;
        }
        for (JsonNode c : n.path("children")) {
            if (pathTo(c, target, path)) {
                return true;
            }
        }
        path.removeLast();
        return false;
    }

    private static JsonNode find(JsonNode n, int id) {
        if (n.path("id").asInt() == id) {
            return n;
        }
        for (JsonNode c : n.path("children")) {
            JsonNode f = find(c, id);
            if (f != null) {
                return f;
            }
        }
        return null;
    }

    /** Red (−1) through white (0) to green (+1). */
    static String color(double value) {
        double v = Math.max(-1, Math.min(1, value));
        int r;
        int g;
        int b;
        if (v < 0) {
            r = 255;
            g = (int) Math.round(255 + v * (255 - 120));
            b = (int) Math.round(255 + v * (255 - 120));
        } else {
            r = (int) Math.round(255 - v * (255 - 110));
            g = (int) Math.round(255 - v * (255 - 205));
            b = (int) Math.round(255 - v * (255 - 110));
        }
        return String.format(Locale.ROOT, "#%02x%02x%02x", r, g, b);
    }

    private static String number(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.format(Locale.ROOT, "%.2f", v);
    }

    private static String shorten(String s, int max) {
        String visible = s.replace("\n", "⏎");
        return visible.length() <= max ? visible : visible.substring(0, max - 1) + "…";
    }

    static String escape(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '&' -> sb.append("&amp;");
                case '"' -> sb.append("&quot;");
                default -> {
                    if (c < 0x20 && c != '\n' && c != '\t') {
                        sb.append(' ');
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.toString();
    }
}
