package dev.rewind.tokenizer.chat;

import dev.rewind.tokenizer.chat.Value.Bool;
import dev.rewind.tokenizer.chat.Value.Callable;
import dev.rewind.tokenizer.chat.Value.Dict;
import dev.rewind.tokenizer.chat.Value.Int;
import dev.rewind.tokenizer.chat.Value.None;
import dev.rewind.tokenizer.chat.Value.Real;
import dev.rewind.tokenizer.chat.Value.Sequence;
import dev.rewind.tokenizer.chat.Value.Str;
import dev.rewind.tokenizer.chat.Value.Undefined;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** What values mean: truth, printing, equality, ordering, and conversion from the caller's Java objects. */
final class Values {

    /** How deeply a Java value given to a template may nest (a map that contains itself would never end). */
    static final int MAX_INPUT_DEPTH = 512;

    private Values() {
    }

    /** The name of a value's type in error messages. */
    static String typeName(Value v) {
        return switch (v) {
            case Str s -> "string";
            case Int i -> "integer";
            case Real r -> "float";
            case Bool b -> "boolean";
            case None n -> "none";
            case Undefined u -> "undefined";
            case Sequence s -> "list";
            case Dict d -> "dict";
            case Value.Namespace n -> "namespace";
            case Callable c -> "function";
        };
    }

    /** A value as an error message names it: the type, and for undefined what was looked up. */
    static String describe(Value v) {
        return v instanceof Undefined u && u.name() != null ? "undefined '" + u.name() + "'" : typeName(v);
    }

    /** Truth as in Python: empty strings, lists and dicts, zero, none and undefined are false. */
    static boolean truthy(Value v) {
        return switch (v) {
            case Str s -> !s.value().isEmpty();
            case Int i -> i.value() != 0;
            case Real r -> r.value() != 0 && !Double.isNaN(r.value());
            case Bool b -> b.value();
            case None n -> false;
            case Undefined u -> false;
            case Sequence s -> !s.items.isEmpty();
            case Dict d -> !d.entries.isEmpty();
            case Value.Namespace n -> true;
            case Callable c -> true;
        };
    }

    static boolean isNumber(Value v) {
        return v instanceof Int || v instanceof Real;
    }

    static boolean isNullish(Value v) {
        return v instanceof None || v instanceof Undefined;
    }

    /** A number, integer or float, as a double. */
    static double number(Value v) {
        return switch (v) {
            case Int i -> i.value();
            case Real r -> r.value();
            case Bool b -> b.value() ? 1 : 0;
            default -> throw new IllegalStateException(typeName(v));
        };
    }

    /**
     * The text {@code {{ value }}} prints: strings as they are, {@code true}/{@code false}, nothing for
     * none and undefined, lists and dicts as JSON with {@code ", "} and {@code ": "} between items.
     */
    static String display(Value v, int maxChars) {
        return switch (v) {
            case Str s -> s.value();
            case Int i -> Long.toString(i.value());
            case Real r -> Numbers.floatText(r.value());
            case Bool b -> Boolean.toString(b.value());
            case None n -> "";
            case Undefined u -> "";
            case Sequence s -> JsonWriter.display(s, maxChars);
            case Dict d -> JsonWriter.display(d, maxChars);
            case Value.Namespace n -> JsonWriter.display(n, maxChars);
            case Callable c -> throw new RenderError("cannot print the function '" + c.name() + "' (call it with ())");
        };
    }

    /** {@code ==}: numbers (and booleans, as 0 and 1) by value, strings by content, none equals undefined, lists and dicts only themselves. */
    static boolean looseEquals(Value a, Value b) {
        if (isNullish(a) || isNullish(b)) {
            return isNullish(a) && isNullish(b);
        }
        if (a instanceof Int x && b instanceof Int y) {
            return x.value() == y.value();
        }
        if ((isNumber(a) || a instanceof Bool) && (isNumber(b) || b instanceof Bool)) {
            return number(a) == number(b);
        }
        if (a instanceof Str x && b instanceof Str y) {
            return x.value().equals(y.value());
        }
        return isContainer(a) && a == b;
    }

    /** JavaScript's {@code ===} on the underlying values: used by {@code in}, {@code equalto} and {@code unique}. */
    static boolean strictEquals(Value a, Value b) {
        return switch (a) {
            case Int x when b instanceof Int y -> x.value() == y.value();
            case Int x when b instanceof Real y -> x.value() == y.value();
            case Real x when isNumber(b) -> x.value() == number(b);
            case Str x when b instanceof Str y -> x.value().equals(y.value());
            case Bool x when b instanceof Bool y -> x.value() == y.value();
            case None x -> b instanceof None;
            case Undefined x -> b instanceof Undefined;
            default -> isContainer(a) && a == b;
        };
    }

    private static boolean isContainer(Value v) {
        return v instanceof Sequence || v instanceof Dict || v instanceof Value.Namespace || v instanceof Callable;
    }

    /**
     * The order {@code sort} and {@code dictsort} use: numbers and booleans by value, strings by
     * UTF-16 units (case-insensitively unless asked), none with none and undefined with undefined;
     * anything else cannot be compared.
     */
    static int compare(Value a, Value b, boolean caseSensitive) {
        if (a instanceof None && b instanceof None || a instanceof Undefined && b instanceof Undefined) {
            return 0;
        }
        boolean numericA = isNumber(a) || a instanceof Bool;
        boolean numericB = isNumber(b) || b instanceof Bool;
        if (numericA && numericB) {
            return Double.compare(number(a), number(b)) == 0 ? 0 : number(a) < number(b) ? -1 : 1;
        }
        if (a instanceof Str x && b instanceof Str y) {
            String l = caseSensitive ? x.value() : x.value().toLowerCase(java.util.Locale.ROOT);
            String r = caseSensitive ? y.value() : y.value().toLowerCase(java.util.Locale.ROOT);
            return Integer.signum(l.compareTo(r));
        }
        throw new RenderError("cannot compare " + typeName(a) + " with " + typeName(b));
    }

    /**
     * A caller's Java value as a template value: {@code null} is none; strings, booleans and numbers
     * (a whole double is an integer, as for JavaScript's numbers); lists; maps with string keys, in
     * the order JavaScript's {@code Object.entries} would give after {@code JSON.parse} (keys that are
     * array indices first, ascending, then the others in insertion order); {@link Message}s.
     *
     * @param path where the value was found, for the error message
     * @throws IllegalArgumentException for anything else
     */
    static Value fromJava(Object o, String path) {
        return fromJava(o, path, 0);
    }

    private static Value fromJava(Object o, String path, int depth) {
        if (depth > MAX_INPUT_DEPTH) {
            String where = path.length() > 80 ? path.substring(0, 80) + "..." : path;
            throw new IllegalArgumentException(where + ": nests more than " + MAX_INPUT_DEPTH + " deep (does it contain itself?)");
        }
        return switch (o) {
            case null -> None.NONE;
            case String s -> new Str(s);
            case Character c -> new Str(c.toString());
            case Boolean b -> Bool.of(b);
            case Integer i -> new Int(i);
            case Long l -> new Int(l);
            case Short s -> new Int(s);
            case Byte b -> new Int(b);
            case BigInteger b -> b.bitLength() < 64 ? new Int(b.longValue()) : new Real(b.doubleValue());
            case BigDecimal b -> fromDouble(b.doubleValue());
            case Number n -> fromDouble(n.doubleValue());
            case Message m -> fromJava(m.asMap(), path, depth + 1);
            case List<?> list -> {
                List<Value> items = new ArrayList<>(list.size());
                for (int i = 0; i < list.size(); i++) {
                    items.add(fromJava(list.get(i), path + "[" + i + "]", depth + 1));
                }
                yield new Sequence(items);
            }
            case Map<?, ?> map -> {
                Map<String, Value> entries = new LinkedHashMap<>();
                TreeMap<Long, String> indexKeys = new TreeMap<>();
                for (Object key : map.keySet()) {
                    if (!(key instanceof String k)) {
                        throw new IllegalArgumentException(path + ": a map key must be a string, got " + key);
                    }
                    if (isArrayIndex(k)) {
                        indexKeys.put(Long.parseLong(k), k);
                    }
                }
                for (String k : indexKeys.values()) {
                    entries.put(k, fromJava(map.get(k), path + "." + k, depth + 1));
                }
                for (Map.Entry<?, ?> e : map.entrySet()) {
                    String k = (String) e.getKey();
                    if (!entries.containsKey(k)) {
                        entries.put(k, fromJava(e.getValue(), path + "." + k, depth + 1));
                    }
                }
                yield new Dict(entries);
            }
            default -> throw new IllegalArgumentException(path + ": a value of type " + o.getClass().getSimpleName()
                    + " cannot be given to a template (use strings, numbers, booleans, null, lists and maps)");
        };
    }

    private static Value fromDouble(double d) {
        if (d == Math.rint(d) && Math.abs(d) < 0x1p63) {
            return new Int((long) d);
        }
        return new Real(d);
    }

    /** Whether a key is a canonical array index of JavaScript: 0 to 2^32 − 2 without leading zeros. */
    private static boolean isArrayIndex(String k) {
        if (k.isEmpty() || k.length() > 10 || (k.length() > 1 && k.charAt(0) == '0')) {
            return false;
        }
        for (int i = 0; i < k.length(); i++) {
            if (!Lexer.isDigit(k.charAt(i))) {
                return false;
            }
        }
        return Long.parseLong(k) < 0xFFFF_FFFFL;
    }
}
