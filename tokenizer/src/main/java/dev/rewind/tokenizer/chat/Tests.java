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

import java.util.Locale;

/**
 * The tests, {@code value is name(args)}. As in {@code @huggingface/jinja}: {@code defined},
 * {@code undefined}, {@code none}, {@code boolean}, {@code true}, {@code false}, {@code string},
 * {@code number}, {@code integer}, {@code iterable} (a list or a string), {@code mapping},
 * {@code sequence} (a list, dict or string), {@code callable}, {@code odd}, {@code even},
 * {@code lower}, {@code upper}, {@code equalto}/{@code eq}. Added from Jinja2: {@code float},
 * {@code ne}, {@code lt}, {@code le}, {@code gt}, {@code ge} (and their symbols), {@code in},
 * {@code sameas}, {@code divisibleby}.
 */
final class Tests {

    private Tests() {
    }

    static boolean apply(Interpreter in, String name, Value v, Args args) {
        return switch (name) {
            case "defined" -> !(v instanceof Undefined);
            case "undefined" -> v instanceof Undefined;
            case "none" -> v instanceof None;
            case "boolean" -> v instanceof Bool;
            case "true" -> v instanceof Bool b && b.value();
            case "false" -> v instanceof Bool b && !b.value();
            case "string" -> v instanceof Str;
            case "number" -> Values.isNumber(v);
            case "integer" -> v instanceof Int;
            case "float" -> v instanceof Real;
            case "iterable" -> v instanceof Sequence || v instanceof Str;
            case "mapping" -> v instanceof Dict;
            case "sequence" -> v instanceof Sequence || v instanceof Dict || v instanceof Str;
            case "callable" -> v instanceof Callable;
            case "odd", "even" -> {
                if (!(v instanceof Int i)) {
                    throw new RenderError("the test '" + name + "' needs an integer, got " + Values.describe(v));
                }
                yield (i.value() % 2 != 0) == name.equals("odd");
            }
            case "lower" -> v instanceof Str s && s.value().equals(s.value().toLowerCase(Locale.ROOT));
            case "upper" -> v instanceof Str s && s.value().equals(s.value().toUpperCase(Locale.ROOT));
            case "equalto", "eq", "==" -> Values.strictEquals(v, other(args, name));
            case "ne", "!=" -> !Values.strictEquals(v, other(args, name));
            case "sameas" -> Values.strictEquals(v, other(args, name));
            case "lt", "<", "le", "<=", "gt", ">", "ge", ">=" -> order(name, Operators.apply(in, comparison(name), v, other(args, name)));
            case "in" -> Values.truthy(Operators.apply(in, Expr.BinaryOperator.IN, v, other(args, name)));
            case "divisibleby" -> {
                Value divisor = other(args, name);
                if (!(v instanceof Int a) || !(divisor instanceof Int b) || b.value() == 0) {
                    throw new RenderError("divisibleby needs a non-zero integer divisor and an integer, got "
                            + Values.describe(v) + " and " + Values.describe(divisor));
                }
                yield a.value() % b.value() == 0;
            }
            default -> throw new RenderError("unknown test '" + name + "'");
        };
    }

    private static Value other(Args args, String test) {
        return args.required(0, "value", "the test '" + test + "'");
    }

    private static Expr.BinaryOperator comparison(String test) {
        return switch (test) {
            case "lt", "<" -> Expr.BinaryOperator.LESS;
            case "le", "<=" -> Expr.BinaryOperator.LESS_EQUAL;
            case "gt", ">" -> Expr.BinaryOperator.GREATER;
            default -> Expr.BinaryOperator.GREATER_EQUAL;
        };
    }

    private static boolean order(String test, Value result) {
        if (result instanceof Bool b) {
            return b.value();
        }
        throw new RenderError("the test '" + test + "' did not compare");
    }
}
