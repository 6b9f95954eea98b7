package dev.rewind.tokenizer.chat;

import dev.rewind.tokenizer.chat.Value.Callable;
import dev.rewind.tokenizer.chat.Value.Dict;
import dev.rewind.tokenizer.chat.Value.Int;
import dev.rewind.tokenizer.chat.Value.None;
import dev.rewind.tokenizer.chat.Value.Sequence;
import dev.rewind.tokenizer.chat.Value.Str;
import dev.rewind.tokenizer.chat.Value.Undefined;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * {@code value.name}, {@code value[key]} and {@code value[a:b:c]}. A dict answers with its entry,
 * else with one of its methods ({@code get}, {@code items}, {@code keys}, {@code values},
 * {@code dictsort}); a namespace with its entry; a list with its {@code length} or a method ({@code append}, {@code extend}); a
 * string with its {@code length} or a method (see {@link StringMethods}); anything else with
 * undefined. As in {@code @huggingface/jinja}, an attribute of undefined is undefined, but an
 * integer index into something that is not a list or string fails.
 */
final class Members {

    private Members() {
    }

    static Value attribute(Interpreter in, Value object, String name, Supplier<String> path) {
        Value v = switch (object) {
            case Dict d -> {
                Value entry = d.entries.get(name);
                yield entry != null ? entry : dictMethod(in, d, name);
            }
            case Value.Namespace n -> n.entries.get(name);
            case Sequence s -> listMember(in, s, name);
            case Str s -> StringMethods.member(in, s.value(), name);
            default -> null;
        };
        return v != null ? v : new Undefined(path.get());
    }

    static Value item(Interpreter in, Value object, Value key, Supplier<String> path) {
        if (key instanceof Str name) {
            return attribute(in, object, name.value(), path);
        }
        if (key instanceof Int index && (object instanceof Sequence || object instanceof Str)) {
            int length = object instanceof Sequence s ? s.items.size() : ((Str) object).value().length();
            long i = index.value() < 0 ? index.value() + length : index.value();
            if (i < 0 || i >= length) {
                return new Undefined(path.get());
            }
            return object instanceof Sequence s ? s.items.get((int) i) : new Str(String.valueOf(((Str) object).value().charAt((int) i)));
        }
        throw new RenderError("cannot index " + Values.describe(object) + " with " + Values.describe(key)
                + (object instanceof Dict || object instanceof Value.Namespace ? " (keys are strings)" : ""));
    }

    /**
     * {@code object[start:stop:step]} of a list or of a string's characters, with the bounds
     * arithmetic of {@code @huggingface/jinja} (Python's, except that an explicit negative-step stop
     * of {@code -1} means "through the first item").
     */
    static Value slice(Value object, Value start, Value stop, Value step) {
        List<?> items = switch (object) {
            case Sequence s -> s.items;
            case Str s -> s.value().codePoints().mapToObj(Character::toString).toList();
            default -> throw new RenderError("cannot slice " + Values.describe(object) + " (only a list or a string)");
        };
        Long a = bound(start, "start");
        Long b = bound(stop, "stop");
        Long c = bound(step, "step");
        long stepValue = c == null ? 1 : c;
        if (stepValue == 0) {
            throw new RenderError("slice step cannot be zero");
        }
        long n = items.size();
        long from;
        long to;
        if (stepValue > 0) {
            from = a == null ? 0 : a < 0 ? Math.max(n + a, 0) : Math.min(a, n);
            to = b == null ? n : b < 0 ? Math.max(n + b, 0) : Math.min(b, n);
        } else {
            from = a == null ? n - 1 : a < 0 ? Math.max(n + a, -1) : Math.min(a, n - 1);
            to = b == null ? -1 : b < -1 ? Math.max(n + b, -1) : Math.min(b, n - 1);
        }
        List<Object> picked = new ArrayList<>();
        long direction = Long.signum(stepValue);
        for (long i = from; direction * i < direction * to; i += stepValue) {
            picked.add(items.get((int) i));
        }
        if (object instanceof Str) {
            StringBuilder s = new StringBuilder();
            picked.forEach(s::append);
            return new Str(s.toString());
        }
        List<Value> values = new ArrayList<>(picked.size());
        picked.forEach(v -> values.add((Value) v));
        return new Sequence(values);
    }

    private static Long bound(Value v, String which) {
        return switch (v) {
            case Undefined u -> null;
            case None n -> null;
            case Int i -> i.value();
            default -> throw new RenderError("slice " + which + " must be an integer, got " + Values.describe(v));
        };
    }

    private static Value listMember(Interpreter in, Sequence list, String name) {
        return switch (name) {
            case "length" -> new Int(list.items.size());
            case "append" -> new Callable("append", (args, frame) -> {
                in.iterate(1);
                list.items.add(args.required(0, "item", "append"));
                return None.NONE;
            });
            case "extend" -> new Callable("extend", (args, frame) -> {
                Value more = args.required(0, "items", "extend");
                if (!(more instanceof Sequence other)) {
                    throw new RenderError("extend needs a list, got " + Values.describe(more));
                }
                in.iterate(other.items.size());
                list.items.addAll(List.copyOf(other.items));
                return None.NONE;
            });
            default -> null;
        };
    }

    private static Value dictMethod(Interpreter in, Dict dict, String name) {
        return switch (name) {
            case "get" -> new Callable("get", (args, frame) -> {
                Value key = args.required(0, "key", "get");
                if (!(key instanceof Str k)) {
                    throw new RenderError("get: a dict key must be a string, got " + Values.describe(key));
                }
                Value v = dict.entries.get(k.value());
                return v != null ? v : args.get(1, "default", None.NONE);
            });
            case "items" -> new Callable("items", (args, frame) -> items(in, dict));
            case "keys" -> new Callable("keys", (args, frame) -> {
                in.iterate(dict.entries.size());
                return new Sequence(new ArrayList<>(dict.entries.keySet().stream().<Value>map(Str::new).toList()));
            });
            case "values" -> new Callable("values", (args, frame) -> {
                in.iterate(dict.entries.size());
                return new Sequence(new ArrayList<>(dict.entries.values()));
            });
            case "dictsort" -> new Callable("dictsort", (args, frame) -> dictsort(in, dict, args));
            default -> null;
        };
    }

    /** A dict's {@code [key, value]} pairs in order. */
    static Sequence items(Interpreter in, Dict dict) {
        in.iterate(dict.entries.size());
        List<Value> pairs = new ArrayList<>(dict.entries.size());
        dict.entries.forEach((k, v) -> pairs.add(new Sequence(new ArrayList<>(List.of(new Str(k), v)))));
        return new Sequence(pairs);
    }

    /** {@code dictsort(case_sensitive=false, by='key', reverse=false)}: the pairs sorted by key or value. */
    static Sequence dictsort(Interpreter in, Dict dict, Args args) {
        boolean caseSensitive = args.flag(0, "case_sensitive", false);
        String by = args.string(1, "by", "key", "dictsort");
        if (!by.equals("key") && !by.equals("value")) {
            throw new RenderError("dictsort: 'by' must be 'key' or 'value', got '" + by + "'");
        }
        boolean reverse = args.flag(2, "reverse", false);
        int part = by.equals("key") ? 0 : 1;
        List<Value> pairs = new ArrayList<>(items(in, dict).items);
        pairs.sort((x, y) -> {
            int order = Values.compare(((Sequence) x).items.get(part), ((Sequence) y).items.get(part), caseSensitive);
            return reverse ? -order : order;
        });
        return new Sequence(pairs);
    }

    /**
     * The value at a dotted path of entries and list indices ({@code "function.name"}, {@code "items.0"}),
     * methods left out, or undefined: what {@code selectattr}, {@code map} and {@code sort} look at.
     */
    static Value plainAttribute(Value value, String path) {
        Value current = value;
        for (String part : path.split("\\.", -1)) {
            current = switch (current) {
                case Dict d -> d.entries.getOrDefault(part, new Undefined(part));
                case Value.Namespace n -> n.entries.getOrDefault(part, new Undefined(part));
                case Sequence s -> {
                    try {
                        int i = Integer.parseInt(part);
                        yield i >= 0 && i < s.items.size() ? s.items.get(i) : new Undefined(part);
                    } catch (NumberFormatException e) {
                        yield new Undefined(part);
                    }
                }
                default -> new Undefined(part);
            };
            if (current instanceof Undefined) {
                return new Undefined(path);
            }
        }
        return current;
    }
}
