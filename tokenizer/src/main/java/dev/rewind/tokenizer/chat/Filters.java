package dev.rewind.tokenizer.chat;

import dev.rewind.tokenizer.chat.Value.Bool;
import dev.rewind.tokenizer.chat.Value.Dict;
import dev.rewind.tokenizer.chat.Value.Int;
import dev.rewind.tokenizer.chat.Value.None;
import dev.rewind.tokenizer.chat.Value.Real;
import dev.rewind.tokenizer.chat.Value.Sequence;
import dev.rewind.tokenizer.chat.Value.Str;
import dev.rewind.tokenizer.chat.Value.Undefined;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The filters, {@code value | name(args)}. Those of {@code @huggingface/jinja} take the same types and
 * give the same results: {@code safe}, {@code tojson}, {@code string}, {@code length}, {@code upper},
 * {@code lower}, {@code title}, {@code capitalize}, {@code trim}, {@code indent}, {@code replace},
 * {@code int}, {@code float}, {@code abs}, {@code bool}, {@code list}, {@code first}, {@code last},
 * {@code reverse}, {@code sort}, {@code join}, {@code unique}, {@code items}, {@code dictsort},
 * {@code selectattr}, {@code rejectattr}, {@code map}, {@code default}, {@code keys}, {@code values}. Added from Jinja2, which it
 * lacks: {@code count}, {@code round}, {@code select}, {@code reject}, {@code d}, {@code map} with a
 * filter name, {@code tojson}'s positional indent, {@code trim}'s characters, and {@code list},
 * {@code first}, {@code last}, {@code reverse} of a string.
 */
final class Filters {

    private Filters() {
    }

    static Value apply(Interpreter in, String name, Value v, Args args, Scope scope) {
        return switch (name) {
            case "safe" -> v;
            case "tojson" -> in.text(tojson(in, v, args));
            case "default", "d" -> {
                Value fallback = args.get(0, "default_value", new Str(""));
                boolean ifFalse = args.flag(1, "boolean", false);
                yield v instanceof Undefined || (ifFalse && !Values.truthy(v)) ? fallback : v;
            }
            case "length", "count" -> switch (v) {
                case Str s -> new Int(s.value().length());
                case Sequence s -> new Int(s.items.size());
                case Dict d -> new Int(d.entries.size());
                default -> throw refused(name, v);
            };
            case "string" -> switch (v) {
                case Str s -> s;
                case Int i -> in.text(Values.display(v, in.maxChars()));
                case Real r -> in.text(Values.display(v, in.maxChars()));
                case Bool b -> in.text(Values.display(v, in.maxChars()));
                case Sequence s -> in.text(Values.display(v, in.maxChars()));
                case Dict d -> in.text(Values.display(v, in.maxChars()));
                default -> throw refused(name, v);
            };
            case "upper" -> in.text(string(name, v).toUpperCase(Locale.ROOT));
            case "lower" -> in.text(string(name, v).toLowerCase(Locale.ROOT));
            case "title" -> new Str(StringMethods.title(string(name, v)));
            case "capitalize" -> in.text(StringMethods.capitalize(string(name, v)));
            case "trim" -> new Str(StringMethods.strip(string(name, v), args.string(0, "chars", null, name), true, true));
            case "indent" -> in.text(indent(in, string(name, v), args));
            case "replace" -> in.text(StringMethods.replace(in, string(name, v), args.string(0, "old", null, name),
                    args.string(1, "new", null, name), args.integer(2, "count", -1, name)));
            case "int" -> toInt(v, args.get(0, "default", new Int(0)));
            case "float" -> toFloat(v, args.get(0, "default", new Real(0)));
            case "abs" -> switch (v) {
                case Int i when i.value() != Long.MIN_VALUE -> new Int(Math.abs(i.value()));
                case Real r -> new Real(Math.abs(r.value()));
                default -> throw refused(name, v);
            };
            case "round" -> round(v, args);
            case "bool" -> Bool.of(Values.truthy(v));
            case "list" -> switch (v) {
                case Sequence s -> s;
                case Str s -> characters(in, s.value());
                case Dict d -> {
                    in.iterate(d.entries.size());
                    yield new Sequence(new ArrayList<>(d.entries.keySet().stream().<Value>map(Str::new).toList()));
                }
                default -> throw refused(name, v);
            };
            case "first", "last" -> {
                List<Value> items = switch (v) {
                    case Sequence s -> s.items;
                    case Str s -> characters(in, s.value()).items;
                    default -> throw refused(name, v);
                };
                yield items.isEmpty() ? new Undefined(name) : name.equals("first") ? items.getFirst() : items.getLast();
            }
            case "reverse" -> switch (v) {
                case Sequence s -> {
                    in.iterate(s.items.size());
                    yield new Sequence(new ArrayList<>(s.items.reversed()));
                }
                case Str s -> new Str(new StringBuilder(s.value()).reverse().toString());
                default -> throw refused(name, v);
            };
            case "join" -> {
                String separator = args.string(0, "d", "", name);
                yield switch (v) {
                    case Sequence s -> in.text(StringMethods.join(in, separator, s));
                    case Str s -> in.text(StringMethods.join(in, separator, s));
                    default -> throw refused(name, v);
                };
            }
            case "sort" -> sort(in, sequence(name, v), args);
            case "unique" -> unique(in, sequence(name, v));
            case "items" -> Members.items(in, dict(name, v));
            case "dictsort" -> Members.dictsort(in, dict(name, v), args);
            case "keys" -> {
                Dict d = dict(name, v);
                in.iterate(d.entries.size());
                yield new Sequence(new ArrayList<>(d.entries.keySet().stream().<Value>map(Str::new).toList()));
            }
            case "values" -> {
                Dict d = dict(name, v);
                in.iterate(d.entries.size());
                yield new Sequence(new ArrayList<>(d.entries.values()));
            }
            case "selectattr", "rejectattr" -> selectAttribute(in, sequence(name, v), args, name.equals("selectattr"));
            case "select", "reject" -> select(in, sequence(name, v), args, name.equals("select"));
            case "map" -> map(in, sequence(name, v), args, scope);
            default -> throw new RenderError("unknown filter '" + name + "'");
        };
    }

    private static RenderError refused(String filter, Value v) {
        return new RenderError("the filter '" + filter + "' cannot be applied to " + Values.describe(v));
    }

    private static String string(String filter, Value v) {
        if (v instanceof Str s) {
            return s.value();
        }
        throw refused(filter, v);
    }

    private static Sequence sequence(String filter, Value v) {
        if (v instanceof Sequence s) {
            return s;
        }
        throw refused(filter, v);
    }

    private static Dict dict(String filter, Value v) {
        if (v instanceof Dict d) {
            return d;
        }
        throw refused(filter, v);
    }

    private static Sequence characters(Interpreter in, String s) {
        List<Value> chars = s.codePoints().<Value>mapToObj(cp -> new Str(Character.toString(cp))).toList();
        in.iterate(chars.size());
        return new Sequence(new ArrayList<>(chars));
    }

    /** {@code tojson(indent=None, ensure_ascii=false, sort_keys=false, separators=None)}. */
    private static String tojson(Interpreter in, Value v, Args args) {
        long indent = args.integer(0, "indent", 0, "tojson");
        if (indent < 0) {
            indent = 0;
        }
        String[] separators = null;
        Value given = args.get(-1, "separators");
        if (given != null && !(given instanceof None)) {
            if (!(given instanceof Sequence s) || s.items.size() != 2
                    || !(s.items.get(0) instanceof Str item) || !(s.items.get(1) instanceof Str key)) {
                throw new RenderError("tojson: separators must be a pair of strings");
            }
            separators = new String[]{item.value(), key.value()};
        }
        JsonWriter.Style style = new JsonWriter.Style((int) Math.min(indent, in.maxChars()), separators,
                args.flag(-1, "ensure_ascii", false), args.flag(-1, "sort_keys", false), true);
        return JsonWriter.write(v, style, in.maxChars());
    }

    /** {@code indent(width=4, first=false, blank=false)}: lines after the first indented, blank lines left alone. */
    private static String indent(Interpreter in, String s, Args args) {
        Value width = args.get(0, "width", new Int(4));
        String pad = switch (width) {
            case Int i -> {
                in.build(Math.max(0, i.value()));
                yield " ".repeat((int) Math.max(0, i.value()));
            }
            case Str p -> p.value();
            default -> throw new RenderError("indent: width must be an integer or a string, got " + Values.describe(width));
        };
        boolean first = args.flag(1, "first", false);
        boolean blank = args.flag(2, "blank", false);
        String[] lines = s.split("\n", -1);
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < lines.length; i++) {
            if (i > 0) {
                out.append('\n');
            }
            boolean skip = (i == 0 && !first) || (lines[i].isEmpty() && !blank);
            if (!skip) {
                out.append(pad);
            }
            out.append(lines[i]);
            in.build(out.length());
        }
        return out.toString();
    }

    /** {@code int(default=0)}: strings by JavaScript's parseInt, floats rounded down, booleans as 0 and 1. */
    private static Value toInt(Value v, Value fallback) {
        return switch (v) {
            case Str s -> {
                Long parsed = Numbers.parseIntPrefix(s.value());
                yield parsed == null ? fallback : new Int(parsed);
            }
            case Int i -> i;
            case Real r -> Double.isFinite(r.value()) ? new Int((long) Math.floor(r.value())) : fallback;
            case Bool b -> new Int(b.value() ? 1 : 0);
            default -> throw refused("int", v);
        };
    }

    /** {@code float(default=0.0)}: strings by JavaScript's parseFloat; numbers kept as they are. */
    private static Value toFloat(Value v, Value fallback) {
        return switch (v) {
            case Str s -> {
                Double parsed = Numbers.parseFloatPrefix(s.value());
                yield parsed == null ? fallback : new Real(parsed);
            }
            case Int i -> new Real(i.value());
            case Real r -> r;
            case Bool b -> new Real(b.value() ? 1 : 0);
            default -> throw refused("float", v);
        };
    }

    /** Jinja2's {@code round(precision=0, method='common')}: common is Python's round (half to even). */
    private static Value round(Value v, Args args) {
        long precision = args.integer(0, "precision", 0, "round");
        String method = args.string(1, "method", "common", "round");
        RoundingMode mode = switch (method) {
            case "common" -> RoundingMode.HALF_EVEN;
            case "floor" -> RoundingMode.FLOOR;
            case "ceil" -> RoundingMode.CEILING;
            default -> throw new RenderError("round: method must be 'common', 'floor' or 'ceil', got '" + method + "'");
        };
        return switch (v) {
            case Int i -> i;
            case Real r when Double.isFinite(r.value()) -> new Real(new BigDecimal(r.value())
                    .setScale(Math.clamp(precision, -300, 300), mode).doubleValue());
            case Real r -> r;
            default -> throw refused("round", v);
        };
    }

    /** {@code sort(reverse=false, case_sensitive=false, attribute=None)}, a stable sort. */
    private static Value sort(Interpreter in, Sequence list, Args args) {
        boolean reverse = args.flag(0, "reverse", false);
        boolean caseSensitive = args.flag(1, "case_sensitive", false);
        Value attribute = args.get(2, "attribute", None.NONE);
        String path = switch (attribute) {
            case None n -> null;
            case Str s -> s.value();
            case Int i -> Long.toString(i.value());
            default -> throw new RenderError("sort: attribute must be a string or an integer");
        };
        in.iterate(list.items.size());
        List<Value> sorted = new ArrayList<>(list.items);
        sorted.sort((a, b) -> {
            Value x = path == null ? a : Members.plainAttribute(a, path);
            Value y = path == null ? b : Members.plainAttribute(b, path);
            int order = Values.compare(x, y, caseSensitive);
            return reverse ? -order : order;
        });
        return new Sequence(sorted);
    }

    /** The items, each first occurrence kept, compared as {@code ===} would. */
    private static Value unique(Interpreter in, Sequence list) {
        in.iterate(list.items.size());
        Set<Object> seen = new HashSet<>();
        Set<Value> seenContainers = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        List<Value> out = new ArrayList<>();
        for (Value item : list.items) {
            Object key = switch (item) {
                case Str s -> "s" + s.value();
                case Int i -> (double) i.value();
                case Real r -> r.value() == 0 ? 0.0 : r.value();
                case Bool b -> b.value();
                case None n -> None.class;
                case Undefined u -> Undefined.class;
                default -> null;
            };
            boolean fresh = key != null ? seen.add(key) : seenContainers.add(item);
            if (fresh) {
                out.add(item);
            }
        }
        return new Sequence(out);
    }

    /**
     * {@code selectattr(attribute, test, args...)} / {@code rejectattr}: the items whose attribute
     * passes the test, or is true when no test is named.
     */
    private static Value selectAttribute(Interpreter in, Sequence list, Args args, boolean keep) {
        String attribute = args.string(0, "attribute", null, keep ? "selectattr" : "rejectattr");
        if (attribute == null) {
            throw new RenderError((keep ? "selectattr" : "rejectattr") + " needs an attribute name");
        }
        return filterItems(in, list, args, 1, keep, item -> Members.plainAttribute(item, attribute));
    }

    /** {@code select(test, args...)} / {@code reject}: the items that pass the test, or are true. */
    private static Value select(Interpreter in, Sequence list, Args args, boolean keep) {
        return filterItems(in, list, args, 0, keep, item -> item);
    }

    private static Value filterItems(Interpreter in, Sequence list, Args args, int testIndex, boolean keep,
                                     java.util.function.UnaryOperator<Value> subject) {
        Value test = testIndex < args.positional().size() ? args.positional().get(testIndex) : null;
        if (test != null && !(test instanceof Str)) {
            throw new RenderError("the test to select by must be named by a string, got " + Values.describe(test));
        }
        Args testArgs = new Args(args.positional().subList(Math.min(testIndex + 1, args.positional().size()),
                args.positional().size()), args.keywords());
        in.iterate(list.items.size());
        List<Value> out = new ArrayList<>();
        for (Value item : list.items) {
            Value v = subject.apply(item);
            boolean passes = test == null ? Values.truthy(v) : Tests.apply(in, ((Str) test).value(), v, testArgs);
            if (passes == keep) {
                out.add(item);
            }
        }
        return new Sequence(out);
    }

    /** {@code map(attribute='name', default=...)}, or {@code map('filter', args...)}. */
    private static Value map(Interpreter in, Sequence list, Args args, Scope scope) {
        in.iterate(list.items.size());
        List<Value> out = new ArrayList<>(list.items.size());
        Value attribute = args.keywords().get("attribute");
        if (attribute != null) {
            if (!(attribute instanceof Str path)) {
                throw new RenderError("map: attribute must be a string");
            }
            Value fallback = args.keywords().get("default");
            for (Value item : list.items) {
                Value v = Members.plainAttribute(item, path.value());
                out.add(v instanceof Undefined && fallback != null ? fallback : v);
            }
            return new Sequence(out);
        }
        if (args.positional().isEmpty() || !(args.positional().getFirst() instanceof Str filter)) {
            throw new RenderError("map needs attribute='name' or the name of a filter");
        }
        Args filterArgs = new Args(args.positional().subList(1, args.positional().size()), args.keywords());
        for (Value item : list.items) {
            out.add(apply(in, filter.value(), item, filterArgs, scope));
        }
        return new Sequence(out);
    }
}
