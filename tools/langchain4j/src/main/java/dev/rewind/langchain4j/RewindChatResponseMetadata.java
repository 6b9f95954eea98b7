package dev.rewind.langchain4j;

import dev.langchain4j.model.chat.response.ChatResponseMetadata;
import dev.rewind.align.decode.MethodReport;

import java.util.Objects;

/**
 * A response's metadata with the Rewind method's own report: the generation's timings (plain), λ
 * (DeRa), searches, forward tokens and KV pages (RAIN), the upstream answer (Aligner).
 */
public class RewindChatResponseMetadata extends ChatResponseMetadata {

    private final MethodReport report;

    protected RewindChatResponseMetadata(Builder builder) {
        super(builder);
        this.report = Objects.requireNonNull(builder.report, "report");
    }

    /** What the method reports about this response. */
    public MethodReport report() {
        return report;
    }

    @Override
    public String toString() {
        return "RewindChatResponseMetadata{" + super.toString() + ", method=" + report.method() + "}";
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds {@link RewindChatResponseMetadata}. */
    public static class Builder extends ChatResponseMetadata.Builder<Builder> {
        private MethodReport report;

        public Builder report(MethodReport value) {
            report = value;
            return this;
        }

        @Override
        public RewindChatResponseMetadata build() {
            return new RewindChatResponseMetadata(this);
        }
    }
}
