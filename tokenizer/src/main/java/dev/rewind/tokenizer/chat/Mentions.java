package dev.rewind.tokenizer.chat;

import java.util.List;

/**
 * Whether a macro's body reads one of the names {@code varargs} and {@code kwargs}, which Jinja
 * fills with the arguments the macro's parameters did not take. A macro that reads neither refuses
 * extra arguments, as in Jinja2 and {@code @huggingface/jinja}.
 */
final class Mentions {

    private Mentions() {
    }

    /** Whether {@code name} is read in {@code body} (or a default) without being one of the parameters. */
    static boolean special(List<Stmt.Parameter> parameters, List<Stmt> body, String name) {
        for (Stmt.Parameter p : parameters) {
            if (p.name().equals(name)) {
                return false;
            }
        }
        for (Stmt.Parameter p : parameters) {
            if (p.fallback() != null && in(p.fallback(), name)) {
                return true;
            }
        }
        return inAll(body, name);
    }

    private static boolean inAll(List<Stmt> body, String name) {
        for (Stmt s : body) {
            if (in(s, name)) {
                return true;
            }
        }
        return false;
    }

    private static boolean in(Stmt s, String name) {
        return switch (s) {
            case Stmt.Text t -> false;
            case Stmt.Output o -> in(o.expression(), name);
            case Stmt.If i -> in(i.test(), name) || inAll(i.then(), name) || inAll(i.otherwise(), name);
            case Stmt.For f -> in(f.iterable(), name) || (f.filter() != null && in(f.filter(), name))
                    || inAll(f.body(), name) || inAll(f.otherwise(), name);
            case Stmt.Set set -> (set.value() != null && in(set.value(), name)) || inAll(set.body(), name)
                    || (set.target() instanceof Stmt.Target.Attribute a && in(a.object(), name));
            case Stmt.Macro m -> inAll(m.body(), name);
            case Stmt.CallBlock c -> in(c.call(), name) || inAll(c.body(), name);
            case Stmt.FilterBlock f -> inArguments(f.args(), name) || inAll(f.body(), name);
            case Stmt.Break b -> false;
            case Stmt.Continue c -> false;
        };
    }

    private static boolean in(Expr e, String name) {
        return switch (e) {
            case Expr.Literal l -> false;
            case Expr.Name n -> n.name().equals(name);
            case Expr.ListLiteral l -> l.items().stream().anyMatch(item -> in(item, name));
            case Expr.DictLiteral d -> d.entries().stream().anyMatch(en -> in(en.key(), name) || in(en.value(), name));
            case Expr.Attribute a -> in(a.object(), name);
            case Expr.Index i -> in(i.object(), name) || in(i.index(), name);
            case Expr.Slice s -> in(s.object(), name) || (s.start() != null && in(s.start(), name))
                    || (s.stop() != null && in(s.stop(), name)) || (s.step() != null && in(s.step(), name));
            case Expr.Call c -> in(c.callee(), name) || inArguments(c.args(), name);
            case Expr.Filter f -> in(f.operand(), name) || inArguments(f.args(), name);
            case Expr.Test t -> in(t.operand(), name) || inArguments(t.args(), name);
            case Expr.Unary u -> in(u.operand(), name);
            case Expr.Binary b -> in(b.left(), name) || in(b.right(), name);
            case Expr.Conditional c -> in(c.then(), name) || in(c.test(), name) || (c.otherwise() != null && in(c.otherwise(), name));
        };
    }

    private static boolean inArguments(List<Expr.Argument> args, String name) {
        return args.stream().anyMatch(a -> in(a.value(), name));
    }
}
