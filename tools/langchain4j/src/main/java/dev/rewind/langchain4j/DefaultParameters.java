package dev.rewind.langchain4j;

import dev.langchain4j.model.chat.request.ChatRequestParameters;

/** The parameters a model starts every request from. */
final class DefaultParameters {

    private DefaultParameters() {
    }

    /** {@code given} (if any) over a maxOutputTokens of {@code maxTokens}, as Rewind parameters so that seeds carry over. */
    static ChatRequestParameters of(ChatRequestParameters given, int maxTokens) {
        RewindChatRequestParameters.Builder b = RewindChatRequestParameters.builder().maxOutputTokens(maxTokens);
        if (given != null) {
            b.overrideWith(given);
        }
        return b.build();
    }
}
