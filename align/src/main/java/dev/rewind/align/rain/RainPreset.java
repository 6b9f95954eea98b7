package dev.rewind.align.rain;

import java.util.List;

/**
 * The three settings of the official scripts (ALGORITHMS.md §1.9, §1.10): parameters, the task's
 * prompt layout and its judge.
 */
public enum RainPreset {

    /** Anthropic HH red-team prompts: HH few-shot chat, harmlessness vote in both option orders, T_m 6. */
    HH(6, 9, 1.0, 1.0, ",.?:;\n", true, false, false,
            new Conversation(Templates.HH_CHAT + "\n\nHuman: " + Conversation.PROMPT + "\nAssistant:", "Human:", List.of(), false, false),
            JudgeTemplate.HH),

    /**
     * AdvBench with GCG suffixes on Vicuna: the {@code USER:}/{@code ASSISTANT:} layout, T_m 5, candidates
     * drawn at temperature 2 with up to 19 attempts, stops at an end token. The published script slices
     * the judged text by {@code Human:}, which a Vicuna transcript lacks; here the exchange is rewritten
     * into the {@code Human:}/{@code Assistant:} form the adv judge's few-shot uses.
     */
    ADV(5, 19, 2.0, 2.0, ",.?:;\n", true, false, true,
            new Conversation(Templates.ADV_CHAT + "USER: " + Conversation.PROMPT + " ASSISTANT:", "USER:",
                    List.of(new Conversation.Rewrite("USER: ", "Human: "), new Conversation.Rewrite(" ASSISTANT:", "\nAssistant:")),
                    false, false),
            JudgeTemplate.ADV),

    /**
     * TruthfulQA on LLaMA-2-chat: {@code [INST] q [/INST] }, the simulation runs to an end token, the
     * judge reads Yes against No on {@code Q: …\nA:…} cut after its last period; T_m 16.
     */
    TRUTHFUL_QA(16, 9, 1.0, 1.0, "", false, true, true,
            new Conversation("[INST] " + Conversation.PROMPT + " [/INST] ", "[INST]",
                    List.of(new Conversation.Rewrite("[INST] ", "Q: "), new Conversation.Rewrite(" [/INST] ", "\nA:")), true, true),
            JudgeTemplate.TRUTHFUL_QA);

    private final int commitVisits;
    private final int sampleAttempts;
    private final double candidateTemperature;
    private final double singleTokenTemperature;
    private final String clauseEnds;
    private final boolean simulationStopsAtTurn;
    private final boolean simulationStopsAtEnd;
    private final boolean stopAtEndOfGeneration;
    private final Conversation conversation;
    private final JudgeTemplate judge;

    RainPreset(int commitVisits, int sampleAttempts, double candidateTemperature, double singleTokenTemperature, String clauseEnds,
               boolean simulationStopsAtTurn, boolean simulationStopsAtEnd, boolean stopAtEndOfGeneration, Conversation conversation,
               JudgeTemplate judge) {
        this.commitVisits = commitVisits;
        this.sampleAttempts = sampleAttempts;
        this.candidateTemperature = candidateTemperature;
        this.singleTokenTemperature = singleTokenTemperature;
        this.clauseEnds = clauseEnds;
        this.simulationStopsAtTurn = simulationStopsAtTurn;
        this.simulationStopsAtEnd = simulationStopsAtEnd;
        this.stopAtEndOfGeneration = stopAtEndOfGeneration;
        this.conversation = conversation;
        this.judge = judge;
    }

    /** The preset's parameters, ready to change. */
    public RainParams.Builder builder() {
        RainParams.Builder b = new RainParams.Builder();
        b.maxSearches = 50;
        b.searchFloor = 15;
        b.commitVisits = commitVisits;
        b.commitValue = 0.8;
        b.cPuct = 2;
        b.similarityThreshold = 0.95;
        b.similarityDiscount = 0.2;
        b.backupDiscount = 1.0;
        b.stepReward = 0.0;
        b.expansionWidth = 10;
        b.sampleAttempts = sampleAttempts;
        b.spanLengths = new int[]{1, 2, 4, 10};
        b.candidateTopK = 15;
        b.candidateTemperature = candidateTemperature;
        b.singleTokenTopK = 10;
        b.singleTokenTemperature = singleTokenTemperature;
        b.rootPriorNoise = 0.25;
        b.dynamicAddMaxChildren = 20;
        b.dynamicAddVarianceFactor = 0.03;
        b.dynamicAddMaxValue = 0.0;
        b.dynamicAddWidth = 2;
        b.clauseEnds = clauseEnds;
        b.simulationStopsAtTurn = simulationStopsAtTurn;
        b.simulationStopsAtEnd = simulationStopsAtEnd;
        b.stopAtEndOfGeneration = stopAtEndOfGeneration;
        b.maxLength = 2048;
        b.maxNewTokens = Integer.MAX_VALUE;
        b.seed = 0;
        return b;
    }

    public RainParams params() {
        return builder().build();
    }

    /** The task's prompt layout and judged-text cut. */
    public Conversation conversation() {
        return conversation;
    }

    /** The task's judge template. */
    public JudgeTemplate judge() {
        return judge;
    }

    /** The preset for a command-line name: {@code hh}, {@code adv}, {@code truthfulqa}. */
    public static RainPreset named(String name) {
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "hh" -> HH;
            case "adv" -> ADV;
            case "truthfulqa", "truth", "truthful_qa" -> TRUTHFUL_QA;
            default -> throw new IllegalArgumentException("unknown preset '" + name + "' (valid: hh, adv, truthfulqa)");
        };
    }
}
