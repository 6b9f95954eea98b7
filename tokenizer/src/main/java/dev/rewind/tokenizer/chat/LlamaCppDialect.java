package dev.rewind.tokenizer.chat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@link RenderOptions.Dialect#LLAMA_CPP}: what llama.cpp does around the template (its
 * {@code minja} chat-template wrapper and {@code common_chat_templates_apply}), so that Rewind can
 * produce the prompt llama.cpp would for the same model and conversation.
 */
final class LlamaCppDialect {

    private static final String SYSTEM_NEEDLE = "<System Needle>";
    private static final String USER_NEEDLE = "<User Needle>";

    private LlamaCppDialect() {
    }

    static String render(ChatTemplate template, List<Message> messages, boolean addGenerationPrompt,
                         Map<String, ?> extra, RenderOptions options) {
        RenderOptions plain = options.withDialect(RenderOptions.Dialect.JINJA);
        List<Message> fed = supportsSystemRole(template, extra, plain) ? messages : mergeSystemMessages(messages);
        String out = template.renderVariables(ChatTemplate.variables(fed, addGenerationPrompt, extra), plain);
        String bos = extra.get("bos_token") instanceof String s ? s : "";
        String eos = extra.get("eos_token") instanceof String s ? s : "";
        if (!bos.isEmpty() && out.startsWith(bos)) {
            out = out.substring(bos.length());
        }
        if (!eos.isEmpty() && out.endsWith(eos)) {
            out = out.substring(0, out.length() - eos.length());
        }
        return out;
    }

    /**
     * llama.cpp's probe: a template has a system role if a system message's text shows up when it
     * renders a system and a user message; failing to render counts as no.
     */
    static boolean supportsSystemRole(ChatTemplate template, Map<String, ?> extra, RenderOptions plain) {
        List<Message> probe = List.of(new Message("system", SYSTEM_NEEDLE), new Message("user", USER_NEEDLE));
        try {
            return template.renderVariables(ChatTemplate.variables(probe, false, extra), plain).contains(SYSTEM_NEEDLE);
        } catch (TemplateException e) {
            return false;
        }
    }

    /**
     * System messages (with text content) folded into the user message after them, joined by
     * newlines; before any other message, or at the end, the pending system text becomes a user
     * message of its own. Messages without content pass untouched, as in llama.cpp.
     */
    static List<Message> mergeSystemMessages(List<Message> messages) {
        List<Message> out = new ArrayList<>();
        String pending = "";
        for (Message m : messages) {
            if (m.content() == null) {
                out.add(m);
                continue;
            }
            if (m.content() instanceof String content) {
                if (m.role().equals("system")) {
                    pending = pending.isEmpty() ? content : pending + "\n" + content;
                    continue;
                }
                if (m.role().equals("user") && !pending.isEmpty()) {
                    out.add(new Message("user", content.isEmpty() ? pending : pending + "\n" + content, m.fields()));
                    pending = "";
                    continue;
                }
            }
            if (!pending.isEmpty()) {
                out.add(new Message("user", pending));
                pending = "";
            }
            out.add(m);
        }
        if (!pending.isEmpty()) {
            out.add(new Message("user", pending));
        }
        return out;
    }
}
