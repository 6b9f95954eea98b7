package dev.rewind.langchain4j;

import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.InvalidRequestException;
import dev.langchain4j.exception.UnsupportedFeatureException;
import dev.rewind.tokenizer.chat.Message;

import java.util.ArrayList;
import java.util.List;

/** LangChain4j messages as the chat template's {@code messages}: text only, roles system, user and assistant. */
final class Conversation {

    private Conversation() {
    }

    /**
     * @throws InvalidRequestException     if there are no messages
     * @throws UnsupportedFeatureException naming the message that is not plain text (images, tool calls, tool results)
     */
    static List<Message> of(List<ChatMessage> messages) {
        if (messages == null || messages.isEmpty()) {
            throw new InvalidRequestException("the request has no messages");
        }
        List<Message> out = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) {
            ChatMessage m = messages.get(i);
            out.add(switch (m) {
                case SystemMessage s -> new Message("system", s.text());
                case UserMessage u when u.hasSingleText() -> new Message("user", u.singleText());
                case UserMessage u -> throw new UnsupportedFeatureException("message " + i + " (user) is not a single text: "
                        + "Rewind's models read text only");
                case AiMessage a when a.hasToolExecutionRequests() -> throw new UnsupportedFeatureException(
                        "message " + i + " (assistant) holds tool calls: Rewind does not call tools");
                case AiMessage a -> new Message("assistant", a.text() == null ? "" : a.text());
                default -> throw new UnsupportedFeatureException("message " + i + " is a " + m.type()
                        + " message: Rewind takes system, user and assistant text messages only");
            });
        }
        return out;
    }

    /** The text of the last user message: the question RAIN and the Aligner answer. */
    static String lastUser(List<Message> messages) {
        for (int i = messages.size() - 1; i >= 0; i--) {
            if (messages.get(i).role().equals("user")) {
                return (String) messages.get(i).content();
            }
        }
        throw new InvalidRequestException("the request has no user message");
    }
}
