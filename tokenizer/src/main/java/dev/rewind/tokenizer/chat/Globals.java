package dev.rewind.tokenizer.chat;

import dev.rewind.tokenizer.chat.Value.Callable;
import dev.rewind.tokenizer.chat.Value.Dict;
import dev.rewind.tokenizer.chat.Value.Int;
import dev.rewind.tokenizer.chat.Value.Sequence;
import dev.rewind.tokenizer.chat.Value.Str;

import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The functions every template can call: {@code raise_exception(message)}, {@code range([start,]
 * stop[, step])}, {@code namespace(...)}, {@code dict(...)} and {@code strftime_now(format)} (the
 * render's clock, see {@link RenderOptions#clock()}).
 */
final class Globals {

    private Globals() {
    }

    /** A root scope with the built-in functions. */
    static Scope scope() {
        Scope scope = new Scope(null);
        scope.set("raise_exception", new Callable("raise_exception", (args, frame) -> {
            Value message = args.get(0, "message", new Str(""));
            throw new RenderError(TemplateException.Kind.RAISED, Values.display(message, frame.interpreter().maxChars()));
        }));
        scope.set("range", new Callable("range", Globals::range));
        scope.set("namespace", new Callable("namespace", Globals::namespace));
        scope.set("dict", new Callable("dict", Globals::dict));
        scope.set("strftime_now", new Callable("strftime_now", (args, frame) -> {
            String format = args.string(0, "format", null, "strftime_now");
            if (format == null) {
                throw new RenderError("strftime_now needs a format, e.g. strftime_now('%d %b %Y')");
            }
            ZonedDateTime now = ZonedDateTime.now(frame.interpreter().options().clock());
            return frame.interpreter().text(Strftime.format(now, format));
        }));
        return scope;
    }

    private static Value range(Args args, Interpreter.Frame frame) {
        long start = 0;
        long stop;
        long step = 1;
        int n = args.positional().size();
        if (n == 0 || n > 3) {
            throw new RenderError("range takes 1 to 3 integers, got " + n + " arguments");
        }
        long[] values = new long[n];
        for (int i = 0; i < n; i++) {
            if (!(args.positional().get(i) instanceof Int v)) {
                throw new RenderError("range takes integers, got " + Values.describe(args.positional().get(i)));
            }
            values[i] = v.value();
        }
        if (n == 1) {
            stop = values[0];
        } else {
            start = values[0];
            stop = values[1];
            if (n == 3) {
                step = values[2];
            }
        }
        if (step == 0) {
            throw new RenderError("range() step must not be zero");
        }
        List<Value> items = new ArrayList<>();
        for (long i = start; step > 0 ? i < stop : i > stop; i += step) {
            frame.interpreter().iterate(1);
            items.add(new Int(i));
        }
        return new Sequence(items);
    }

    /**
     * {@code namespace(initial, key=value, ...)}: a new namespace holding the entries of
     * {@code initial} (a dict, or a list of {@code [key, value]} pairs), then the keyword arguments.
     */
    private static Value namespace(Args args, Interpreter.Frame frame) {
        return new Value.Namespace(entries("namespace", args));
    }

    /** {@code dict(initial, key=value, ...)}: the same entries as {@link #namespace}, as a dict. */
    private static Value dict(Args args, Interpreter.Frame frame) {
        return new Dict(entries("dict", args));
    }

    private static Map<String, Value> entries(String function, Args args) {
        Map<String, Value> entries = new LinkedHashMap<>();
        if (args.positional().size() > 1) {
            throw new RenderError(function + "() takes at most one positional argument, got " + args.positional().size());
        }
        if (!args.positional().isEmpty()) {
            switch (args.positional().getFirst()) {
                case Dict d -> entries.putAll(d.entries);
                case Value.Namespace n -> entries.putAll(n.entries);
                case Sequence pairs -> {
                    for (Value pair : pairs.items) {
                        if (!(pair instanceof Sequence p) || p.items.size() != 2 || !(p.items.getFirst() instanceof Str key)) {
                            throw new RenderError(function + "() needs [key, value] pairs with string keys, got " + Values.describe(pair));
                        }
                        entries.put(key.value(), p.items.get(1));
                    }
                }
                default -> throw new RenderError(function + "() takes a dict or a list of [key, value] pairs, got "
                        + Values.describe(args.positional().getFirst()));
            }
        }
        entries.putAll(args.keywords());
        return entries;
    }
}
