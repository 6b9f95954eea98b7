package dev.rewind.tokenizer.chat;

import dev.rewind.tokenizer.chat.Expr.Argument;
import dev.rewind.tokenizer.chat.Expr.BinaryOperator;
import dev.rewind.tokenizer.chat.Value.Bool;
import dev.rewind.tokenizer.chat.Value.Callable;
import dev.rewind.tokenizer.chat.Value.Dict;
import dev.rewind.tokenizer.chat.Value.Int;
import dev.rewind.tokenizer.chat.Value.None;
import dev.rewind.tokenizer.chat.Value.Real;
import dev.rewind.tokenizer.chat.Value.Sequence;
import dev.rewind.tokenizer.chat.Value.Str;
import dev.rewind.tokenizer.chat.Value.Undefined;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a parsed template once. It walks the statements, appending text to a buffer, and evaluates
 * expressions to {@link Value}s with the semantics of {@code @huggingface/jinja} (see
 * {@link ChatTemplate} for where they differ). It also keeps the render within its
 * {@link RenderOptions.Limits}: nesting depth, loop iterations, the amount of text built, and steps.
 * One interpreter serves one render; it is not shared between threads.
 */
final class Interpreter {

    /** What a callable is called from: the interpreter (for limits and helpers) and the caller's scope. */
    record Frame(Interpreter interpreter, Scope scope) {
    }

    /** How a statement ended: normally, or by {@code break} / {@code continue} to the enclosing loop. */
    private enum Flow { NORMAL, BREAK, CONTINUE }

    private final String source;
    private final RenderOptions options;
    private int depth;
    private long iterations;
    private long steps;
    private long charsBuilt;

    Interpreter(String source, RenderOptions options) {
        this.source = source;
        this.options = options;
    }

    RenderOptions options() {
        return options;
    }

    /** Renders {@code program} with the variables of {@code globals}. */
    String render(List<Stmt> program, Scope globals) {
        StringBuilder out = new StringBuilder();
        execute(program, globals, out);
        return out.toString();
    }

    // ---- limits

    private void enter(int at) {
        if (++steps > options.limits().maxSteps()) {
            throw TemplateException.at(source, at, TemplateException.Kind.LIMIT,
                    "more than " + options.limits().maxSteps() + " steps (statements executed and expressions evaluated)");
        }
        if (++depth > options.limits().maxDepth()) {
            throw TemplateException.at(source, at, TemplateException.Kind.LIMIT,
                    "statements, expressions and macro calls nest more than " + options.limits().maxDepth() + " deep");
        }
    }

    /** Counts {@code n} loop iterations or list items processed against the limit. */
    void iterate(long n) {
        iterations += n;
        if (iterations > options.limits().maxIterations()) {
            throw new RenderError(TemplateException.Kind.LIMIT,
                    "more than " + options.limits().maxIterations() + " loop iterations and list items");
        }
    }

    /** Checks that a string of {@code length} characters may be built, and counts it. */
    void build(long length) {
        checkLength(length);
        charge(length);
    }

    private void checkLength(long length) {
        if (length > options.limits().maxOutputChars()) {
            throw new RenderError(TemplateException.Kind.LIMIT,
                    "text longer than " + options.limits().maxOutputChars() + " characters");
        }
    }

    private void charge(long characters) {
        charsBuilt += characters;
        if (charsBuilt > options.limits().maxBuiltChars()) {
            throw new RenderError(TemplateException.Kind.LIMIT,
                    "more than " + options.limits().maxBuiltChars() + " characters of text built in all");
        }
    }

    /** A new string value, within the limits. */
    Str text(String s) {
        build(s.length());
        return new Str(s);
    }

    /** The longest string a render may build. */
    int maxChars() {
        return options.limits().maxOutputChars();
    }

    private void emit(StringBuilder out, String s) {
        checkLength(out.length() + (long) s.length());
        charge(s.length());
        out.append(s);
    }

    // ---- statements

    private Flow execute(List<Stmt> body, Scope scope, StringBuilder out) {
        for (Stmt s : body) {
            Flow flow = execute(s, scope, out);
            if (flow != Flow.NORMAL) {
                return flow;
            }
        }
        return Flow.NORMAL;
    }

    private Flow execute(Stmt statement, Scope scope, StringBuilder out) {
        enter(statement.at());
        try {
            return switch (statement) {
                case Stmt.Text t -> {
                    emit(out, t.text());
                    yield Flow.NORMAL;
                }
                case Stmt.Output o -> {
                    emit(out, Values.display(evaluate(o.expression(), scope), maxChars()));
                    yield Flow.NORMAL;
                }
                case Stmt.If i -> executeIf(i, scope, out);
                case Stmt.For f -> executeFor(f, scope, out);
                case Stmt.Set s -> {
                    assign(s, scope);
                    yield Flow.NORMAL;
                }
                case Stmt.Macro m -> {
                    scope.set(m.name(), macro(m));
                    yield Flow.NORMAL;
                }
                case Stmt.CallBlock c -> {
                    emit(out, Values.display(callBlock(c, scope), maxChars()));
                    yield Flow.NORMAL;
                }
                case Stmt.FilterBlock f -> {
                    Value body = text(renderBody(f.body(), scope));
                    emit(out, Values.display(Filters.apply(this, f.name(), body, arguments(f.args(), scope), scope), maxChars()));
                    yield Flow.NORMAL;
                }
                case Stmt.Break b -> Flow.BREAK;
                case Stmt.Continue c -> Flow.CONTINUE;
            };
        } catch (RenderError e) {
            throw located(e, statement.at());
        } finally {
            depth--;
        }
    }

    /** An {@code if} and its {@code elif} chain, walked in a loop rather than by recursion. */
    private Flow executeIf(Stmt.If statement, Scope scope, StringBuilder out) {
        Stmt.If current = statement;
        while (true) {
            if (Values.truthy(evaluate(current.test(), scope))) {
                return execute(current.then(), scope, out);
            }
            if (current.otherwise().size() == 1 && current.otherwise().getFirst() instanceof Stmt.If next) {
                current = next;
            } else {
                return execute(current.otherwise(), scope, out);
            }
        }
    }

    private Flow executeFor(Stmt.For loop, Scope scope, StringBuilder out) {
        Scope loopScope = scope.child();
        List<Value> items = new ArrayList<>();
        for (Value item : iterable(evaluate(loop.iterable(), loopScope))) {
            iterate(1);
            if (loop.filter() != null) {
                Scope test = loopScope.child();
                bind(loop, item, test);
                if (!Values.truthy(evaluate(loop.filter(), test))) {
                    continue;
                }
            }
            items.add(item);
        }
        if (items.isEmpty()) {
            return execute(loop.otherwise(), scope, out);
        }
        int n = items.size();
        for (int i = 0; i < n; i++) {
            Map<String, Value> info = new LinkedHashMap<>();
            info.put("index", new Int(i + 1));
            info.put("index0", new Int(i));
            info.put("revindex", new Int(n - i));
            info.put("revindex0", new Int(n - i - 1));
            info.put("first", Bool.of(i == 0));
            info.put("last", Bool.of(i == n - 1));
            info.put("length", new Int(n));
            info.put("previtem", i > 0 ? items.get(i - 1) : new Undefined("loop.previtem"));
            info.put("nextitem", i < n - 1 ? items.get(i + 1) : new Undefined("loop.nextitem"));
            int index = i;
            info.put("cycle", new Callable("loop.cycle", (args, frame) -> args.positional().isEmpty()
                    ? new Undefined("loop.cycle()")
                    : args.positional().get(index % args.positional().size())));
            loopScope.set("loop", new Dict(info));
            bind(loop, items.get(i), loopScope);
            if (execute(loop.body(), loopScope, out) == Flow.BREAK) {
                break;
            }
        }
        return Flow.NORMAL;
    }

    /** What a {@code for} loop walks: a list's items, a dict's keys, a string's characters; nothing for undefined. */
    private static List<Value> iterable(Value v) {
        return switch (v) {
            case Sequence s -> List.copyOf(s.items);
            case Dict d -> d.entries.keySet().stream().<Value>map(Str::new).toList();
            case Str s -> s.value().codePoints().<Value>mapToObj(cp -> new Str(Character.toString(cp))).toList();
            case Undefined u -> List.of();
            default -> throw new RenderError("cannot loop over " + Values.describe(v));
        };
    }

    private void bind(Stmt.For loop, Value item, Scope scope) {
        if (!loop.unpack()) {
            scope.set(loop.targets().getFirst(), item);
            return;
        }
        unpack(loop.targets(), item, scope);
    }

    private static void unpack(List<String> names, Value value, Scope scope) {
        if (!(value instanceof Sequence s)) {
            throw new RenderError("cannot unpack " + Values.describe(value) + " into " + String.join(", ", names));
        }
        if (s.items.size() != names.size()) {
            throw new RenderError("cannot unpack " + s.items.size() + " items into " + names.size() + " names ("
                    + String.join(", ", names) + ")");
        }
        for (int i = 0; i < names.size(); i++) {
            scope.set(names.get(i), s.items.get(i));
        }
    }

    private void assign(Stmt.Set set, Scope scope) {
        Value value = set.value() != null ? evaluate(set.value(), scope) : text(renderBody(set.body(), scope));
        switch (set.target()) {
            case Stmt.Target.Names n when !n.unpack() -> scope.set(n.names().getFirst(), value);
            case Stmt.Target.Names n -> unpack(n.names(), value, scope);
            case Stmt.Target.Attribute a -> {
                Value object = evaluate(a.object(), scope);
                if (!(object instanceof Value.Namespace ns)) {
                    throw new RenderError("cannot set the attribute '" + a.name() + "' on " + Values.describe(object)
                            + " (only on a namespace(...))");
                }
                ns.entries.put(a.name(), value);
            }
        }
    }

    /** Renders {@code body} on its own, for {@code set} blocks, macros and filter blocks. */
    private String renderBody(List<Stmt> body, Scope scope) {
        StringBuilder out = new StringBuilder();
        execute(body, scope, out);
        return out.toString();
    }

    /**
     * A macro. As in {@code @huggingface/jinja}, its body sees the variables of the place it is
     * called from, plus its parameters.
     */
    private Callable macro(Stmt.Macro m) {
        return new Callable(m.name(), (args, frame) -> {
            Scope scope = frame.scope().child();
            bindArguments("macro '" + m.name() + "'", m.parameters(), m.varargs(), m.kwargs(), args, scope);
            return text(renderBody(m.body(), scope));
        });
    }

    /**
     * Binds a macro's (or a call block's) parameters: by position, else by name, else to their
     * default (evaluated once all are bound), else to undefined. Extra arguments go to
     * {@code varargs} / {@code kwargs} when the body reads those names, and are refused otherwise.
     */
    private void bindArguments(String what, List<Stmt.Parameter> parameters, boolean varargs, boolean kwargs,
                               Args args, Scope scope) {
        Map<String, Value> keywords = new LinkedHashMap<>(args.keywords());
        List<Stmt.Parameter> defaults = new ArrayList<>();
        for (int i = 0; i < parameters.size(); i++) {
            Stmt.Parameter p = parameters.get(i);
            Value given = i < args.positional().size() ? args.positional().get(i) : keywords.remove(p.name());
            if (given == null && p.fallback() != null) {
                defaults.add(p);
            }
            scope.set(p.name(), given != null ? given : new Undefined(p.name()));
        }
        if (kwargs) {
            scope.set("kwargs", new Dict(keywords));
        } else if (!keywords.isEmpty()) {
            throw new RenderError(what + " takes no keyword argument '" + keywords.keySet().iterator().next() + "'");
        }
        int extra = args.positional().size() - parameters.size();
        if (varargs) {
            scope.set("varargs", new Sequence(new ArrayList<>(extra > 0
                    ? args.positional().subList(parameters.size(), args.positional().size()) : List.of())));
        } else if (extra > 0) {
            throw new RenderError(what + " takes not more than " + parameters.size() + " argument(s)");
        }
        for (Stmt.Parameter p : defaults) {
            scope.set(p.name(), evaluate(p.fallback(), scope));
        }
    }

    /** {@code {% call %}}: the macro runs with {@code caller}, which renders the block where it stands. */
    private Value callBlock(Stmt.CallBlock block, Scope scope) {
        Callable caller = new Callable("caller", (args, frame) -> {
            Scope inner = scope.child();
            bindArguments("the call block's caller", block.parameters(), block.varargs(), block.kwargs(), args, inner);
            return text(renderBody(block.body(), inner));
        });
        Args args = arguments(block.call().args(), scope);
        Value callee = evaluate(block.call().callee(), scope);
        if (!(callee instanceof Callable c)) {
            throw new RenderError("cannot call " + Values.describe(callee));
        }
        Scope withCaller = scope.child();
        withCaller.set("caller", caller);
        return c.body().call(args, new Frame(this, withCaller));
    }

    // ---- expressions

    Value evaluate(Expr expression, Scope scope) {
        enter(expression.at());
        try {
            return switch (expression) {
                case Expr.Literal l -> l.value();
                case Expr.Name n -> scope.lookup(n.name());
                case Expr.ListLiteral l -> {
                    iterate(l.items().size());
                    List<Value> items = new ArrayList<>(l.items().size());
                    for (Expr item : l.items()) {
                        items.add(evaluate(item, scope));
                    }
                    yield new Sequence(items);
                }
                case Expr.DictLiteral d -> {
                    iterate(d.entries().size());
                    Map<String, Value> entries = new LinkedHashMap<>();
                    for (Expr.DictLiteral.Entry e : d.entries()) {
                        Value key = evaluate(e.key(), scope);
                        if (!(key instanceof Str k)) {
                            throw new RenderError("a dict key must be a string, got " + Values.describe(key));
                        }
                        entries.put(k.value(), evaluate(e.value(), scope));
                    }
                    yield new Dict(entries);
                }
                case Expr.Attribute a -> Members.attribute(this, evaluate(a.object(), scope), a.name(), () -> path(a));
                case Expr.Index i -> Members.item(this, evaluate(i.object(), scope), evaluate(i.index(), scope), () -> path(i));
                case Expr.Slice s -> Members.slice(evaluate(s.object(), scope), part(s.start(), scope),
                        part(s.stop(), scope), part(s.step(), scope));
                case Expr.Call c -> call(c, scope);
                case Expr.Filter f -> Filters.apply(this, f.name(), evaluate(f.operand(), scope), arguments(f.args(), scope), scope);
                case Expr.Test t -> {
                    Value operand = evaluate(t.operand(), scope);
                    boolean result = Tests.apply(this, t.name(), operand, arguments(t.args(), scope));
                    yield Bool.of(result != t.negated());
                }
                case Expr.Unary u -> unary(u, evaluate(u.operand(), scope));
                case Expr.Binary b -> binary(b, scope);
                case Expr.Conditional c -> {
                    if (Values.truthy(evaluate(c.test(), scope))) {
                        yield evaluate(c.then(), scope);
                    }
                    yield c.otherwise() == null ? new Undefined(null) : evaluate(c.otherwise(), scope);
                }
            };
        } catch (RenderError e) {
            throw located(e, expression.at());
        } finally {
            depth--;
        }
    }

    private Value part(Expr e, Scope scope) {
        return e == null ? new Undefined(null) : evaluate(e, scope);
    }

    /** Evaluates call arguments: positional ones in order ({@code *list} spread out), then keyword ones. */
    Args arguments(List<Argument> args, Scope scope) {
        if (args.isEmpty()) {
            return Args.NONE;
        }
        List<Value> positional = new ArrayList<>();
        Map<String, Value> keywords = new LinkedHashMap<>();
        for (Argument a : args) {
            switch (a) {
                case Argument.Positional p -> positional.add(evaluate(p.value(), scope));
                case Argument.Keyword k -> keyword(keywords, k.name(), evaluate(k.value(), scope));
                case Argument.KeywordSpread k -> {
                    Value v = evaluate(k.value(), scope);
                    Map<String, Value> entries = switch (v) {
                        case Dict d -> d.entries;
                        case Value.Namespace n -> n.entries;
                        default -> throw new RenderError("** needs a dict, got " + Values.describe(v));
                    };
                    entries.forEach((name, value) -> keyword(keywords, name, value));
                }
                case Argument.Spread s -> {
                    Value v = evaluate(s.value(), scope);
                    if (!(v instanceof Sequence list)) {
                        throw new RenderError("cannot spread " + Values.describe(v) + " into arguments (only a list)");
                    }
                    iterate(list.items.size());
                    positional.addAll(list.items);
                }
            }
        }
        return new Args(positional, keywords);
    }

    private static void keyword(Map<String, Value> keywords, String name, Value value) {
        if (keywords.putIfAbsent(name, value) != null) {
            throw new RenderError("the keyword argument '" + name + "' is given twice");
        }
    }

    private Value call(Expr.Call c, Scope scope) {
        Args args = arguments(c.args(), scope);
        Value callee = evaluate(c.callee(), scope);
        if (!(callee instanceof Callable f)) {
            throw new RenderError("cannot call " + Values.describe(callee) + " (it is not a function)");
        }
        return f.body().call(args, new Frame(this, scope));
    }

    private static Value unary(Expr.Unary u, Value v) {
        return switch (u.operator()) {
            case NOT -> Bool.of(!Values.truthy(v));
            case MINUS, PLUS -> {
                int sign = u.operator() == Expr.UnaryOperator.MINUS ? -1 : 1;
                yield switch (v) {
                    case Int i when i.value() == Long.MIN_VALUE && sign < 0 -> throw new RenderError("integer overflow");
                    case Int i -> new Int(sign * i.value());
                    case Real r -> new Real(sign * r.value());
                    case Bool b -> new Int(sign * (b.value() ? 1 : 0));
                    default -> throw new RenderError("cannot apply unary " + (sign < 0 ? "-" : "+") + " to " + Values.describe(v));
                };
            }
        };
    }

    private Value binary(Expr.Binary b, Scope scope) {
        Value left = evaluate(b.left(), scope);
        BinaryOperator op = b.operator();
        if (op == BinaryOperator.AND) {
            return Values.truthy(left) ? evaluate(b.right(), scope) : left;
        }
        if (op == BinaryOperator.OR) {
            return Values.truthy(left) ? left : evaluate(b.right(), scope);
        }
        Value right = evaluate(b.right(), scope);
        return Operators.apply(this, op, left, right);
    }

    // ---- errors

    /** The dotted path an attribute or index expression reads, for naming what was undefined. */
    private static String path(Expr e) {
        return switch (e) {
            case Expr.Name n -> n.name();
            case Expr.Attribute a -> path(a.object()) + "." + a.name();
            case Expr.Index i when i.index() instanceof Expr.Literal l -> path(i.object()) + "["
                    + (l.value() instanceof Str s ? "'" + s.value() + "'" : Values.display(l.value(), 64)) + "]";
            case Expr.Index i -> path(i.object()) + "[...]";
            case Expr.Call c -> path(c.callee()) + "(...)";
            default -> "(...)";
        };
    }

    private TemplateException located(RenderError e, int at) {
        return TemplateException.at(source, at, e.kind(), e.getMessage());
    }
}
