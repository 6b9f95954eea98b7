package dev.rewind.tokenizer.chat;

import dev.rewind.tokenizer.chat.Expr.BinaryOperator;
import dev.rewind.tokenizer.chat.Value.Bool;
import dev.rewind.tokenizer.chat.Value.Dict;
import dev.rewind.tokenizer.chat.Value.Int;
import dev.rewind.tokenizer.chat.Value.None;
import dev.rewind.tokenizer.chat.Value.Real;
import dev.rewind.tokenizer.chat.Value.Sequence;
import dev.rewind.tokenizer.chat.Value.Str;
import dev.rewind.tokenizer.chat.Value.Undefined;

import java.util.ArrayList;
import java.util.List;

/**
 * The binary operators other than {@code and}/{@code or}, in the order {@code @huggingface/jinja}
 * tries them: equality first; then undefined and none refuse everything except {@code in} an
 * undefined (false); {@code ~} joins anything as text; numbers do arithmetic and comparisons; lists
 * concatenate and hold items; {@code +} with a string on either side joins text; strings and dicts
 * answer {@code in}. Added: comparing strings, and Python's {@code "%s" % value} formatting.
 */
final class Operators {

    private Operators() {
    }

    static Value apply(Interpreter in, BinaryOperator op, Value left, Value right) {
        switch (op) {
            case EQUAL -> {
                return Bool.of(Values.looseEquals(left, right));
            }
            case NOT_EQUAL -> {
                return Bool.of(!Values.looseEquals(left, right));
            }
            default -> {
            }
        }
        boolean membership = op == BinaryOperator.IN || op == BinaryOperator.NOT_IN;
        if (left instanceof Undefined || right instanceof Undefined) {
            if (right instanceof Undefined && membership) {
                return Bool.of(op == BinaryOperator.NOT_IN);
            }
            throw refused(op, left, right);
        }
        if (left instanceof None || right instanceof None) {
            throw refused(op, left, right);
        }
        if (op == BinaryOperator.CONCATENATE) {
            return concatenate(in, asText(left, in), asText(right, in));
        }
        if (op == BinaryOperator.POWER && isNumeric(left) && isNumeric(right)) {
            return power(left, right);
        }
        if (Values.isNumber(left) && Values.isNumber(right)) {
            return arithmetic(op, left, right);
        }
        if (left instanceof Sequence a && right instanceof Sequence b && op == BinaryOperator.ADD) {
            in.iterate(a.items.size() + (long) b.items.size());
            List<Value> items = new ArrayList<>(a.items);
            items.addAll(b.items);
            return new Sequence(items);
        }
        if (right instanceof Sequence list && membership) {
            in.iterate(list.items.size());
            boolean found = list.items.stream().anyMatch(item -> Values.strictEquals(item, left));
            return Bool.of(found == (op == BinaryOperator.IN));
        }
        if ((left instanceof Str || right instanceof Str) && op == BinaryOperator.ADD) {
            return concatenate(in, asText(left, in), asText(right, in));
        }
        if (left instanceof Str a && right instanceof Str b) {
            switch (op) {
                case IN -> {
                    return Bool.of(b.value().contains(a.value()));
                }
                case NOT_IN -> {
                    return Bool.of(!b.value().contains(a.value()));
                }
                case LESS, GREATER, LESS_EQUAL, GREATER_EQUAL -> {
                    return compare(op, Integer.signum(codePointCompare(a.value(), b.value())));
                }
                default -> {
                }
            }
        }
        if (left instanceof Str a && right instanceof Dict d && membership) {
            return Bool.of(d.entries.containsKey(a.value()) == (op == BinaryOperator.IN));
        }
        if (left instanceof Str format && op == BinaryOperator.MODULO) {
            return in.text(PercentFormat.format(format.value(), right, in));
        }
        throw refused(op, left, right);
    }

    /** An operand of {@code ~} or of {@code +} with a string: JavaScript's {@code String(value)}. */
    private static String asText(Value v, Interpreter in) {
        return switch (v) {
            case Real r -> Numbers.javaScript(r.value());
            case Sequence s -> {
                StringBuilder b = new StringBuilder();
                for (Value item : s.items) {
                    if (!b.isEmpty()) {
                        b.append(',');
                    }
                    b.append(Values.display(item, in.maxChars()));
                    in.build(b.length());
                }
                yield b.toString();
            }
            default -> Values.display(v, in.maxChars());
        };
    }

    private static Str concatenate(Interpreter in, String a, String b) {
        in.build(a.length() + (long) b.length());
        return new Str(a + b);
    }

    private static Value arithmetic(BinaryOperator op, Value left, Value right) {
        boolean integers = left instanceof Int && right instanceof Int;
        double a = Values.number(left);
        double b = Values.number(right);
        try {
            return switch (op) {
                case ADD -> integers ? new Int(Math.addExact(((Int) left).value(), ((Int) right).value())) : new Real(a + b);
                case SUBTRACT -> integers ? new Int(Math.subtractExact(((Int) left).value(), ((Int) right).value())) : new Real(a - b);
                case MULTIPLY -> integers ? new Int(Math.multiplyExact(((Int) left).value(), ((Int) right).value())) : new Real(a * b);
                case DIVIDE -> {
                    nonZero(b);
                    yield new Real(a / b);
                }
                case FLOOR_DIVIDE -> {
                    nonZero(b);
                    yield integers ? new Int(Math.floorDiv(((Int) left).value(), ((Int) right).value())) : new Real(Math.floor(a / b));
                }
                case MODULO -> {
                    nonZero(b);
                    // JavaScript's %, as the reference computes it: the result has the sign of the left side.
                    yield integers ? new Int(((Int) left).value() % ((Int) right).value()) : new Real(a % b);
                }
                case LESS -> Bool.of(a < b);
                case GREATER -> Bool.of(a > b);
                case LESS_EQUAL -> Bool.of(a <= b);
                case GREATER_EQUAL -> Bool.of(a >= b);
                default -> throw refused(op, left, right);
            };
        } catch (ArithmeticException e) {
            throw new RenderError("integer overflow in " + op.symbol);
        }
    }

    private static boolean isNumeric(Value v) {
        return Values.isNumber(v) || v instanceof Bool;
    }

    /** {@code a ** b}: an integer when both are (with booleans as 0 and 1) and {@code b} is not negative. */
    private static Value power(Value left, Value right) {
        double a = Values.number(left);
        double b = Values.number(right);
        if (a == 0 && b < 0) {
            throw new RenderError("0.0 cannot be raised to a negative power");
        }
        if (!(left instanceof Real) && !(right instanceof Real) && b >= 0) {
            long base = (long) a;
            long exponent = (long) b;
            long result = 1;
            try {
                while (exponent > 0) {
                    if ((exponent & 1) == 1) {
                        result = Math.multiplyExact(result, base);
                    }
                    exponent >>= 1;
                    if (exponent > 0) {
                        base = Math.multiplyExact(base, base);
                    }
                }
            } catch (ArithmeticException e) {
                throw new RenderError("integer overflow in **");
            }
            return new Int(result);
        }
        double result = Math.pow(a, b);
        if (!Double.isFinite(result)) {
            throw new RenderError("the result of ** is not a finite number");
        }
        return new Real(result);
    }

    private static void nonZero(double divisor) {
        if (divisor == 0) {
            throw new RenderError("division by zero");
        }
    }

    private static Value compare(BinaryOperator op, int order) {
        return Bool.of(switch (op) {
            case LESS -> order < 0;
            case GREATER -> order > 0;
            case LESS_EQUAL -> order <= 0;
            default -> order >= 0;
        });
    }

    /** Python's string order: by code point (UTF-16 order differs above the surrogates). */
    static int codePointCompare(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int x = a.codePointAt(i);
            int y = b.codePointAt(j);
            if (x != y) {
                return Integer.compare(x, y);
            }
            i += Character.charCount(x);
            j += Character.charCount(y);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }

    private static RenderError refused(BinaryOperator op, Value left, Value right) {
        return new RenderError("cannot apply '" + op.symbol + "' to " + Values.describe(left) + " and " + Values.describe(right));
    }
}
