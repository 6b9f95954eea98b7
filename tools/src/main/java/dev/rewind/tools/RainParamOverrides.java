package dev.rewind.tools;

import dev.rewind.align.rain.RainParams;

import java.util.Arrays;
import java.util.List;

/** {@code --param NAME=VALUE}: sets any RAIN parameter by its {@link RainParams} name. */
final class RainParamOverrides {

    /** Every name {@code --param} accepts. */
    static final List<String> NAMES = List.of("maxSearches", "searchFloor", "commitVisits", "commitValue", "cPuct",
            "similarityThreshold", "similarityDiscount", "backupDiscount", "stepReward", "expansionWidth", "sampleAttempts",
            "spanLengths", "candidateTopK", "candidateTemperature", "singleTokenTopK", "singleTokenTemperature", "rootPriorNoise",
            "dynamicAddMaxChildren", "dynamicAddVarianceFactor", "dynamicAddMaxValue", "dynamicAddWidth", "clauseEnds",
            "simulationStopsAtTurn", "simulationStopsAtEnd", "stopAtEndOfGeneration", "maxLength", "maxNewTokens", "seed");

    private RainParamOverrides() {
    }

    /**
     * Applies one {@code NAME=VALUE}.
     *
     * @throws UserException naming the parameter when the name is unknown or the value malformed
     */
    static void apply(RainParams.Builder b, String assignment) {
        int eq = assignment.indexOf('=');
        if (eq <= 0) {
            throw new UserException("--param takes NAME=VALUE, got '" + assignment + "'");
        }
        String name = assignment.substring(0, eq).strip();
        String v = assignment.substring(eq + 1).strip();
        try {
            switch (name) {
                case "maxSearches" -> b.maxSearches = Integer.parseInt(v);
                case "searchFloor" -> b.searchFloor = Integer.parseInt(v);
                case "commitVisits" -> b.commitVisits = Integer.parseInt(v);
                case "commitValue" -> b.commitValue = Double.parseDouble(v);
                case "cPuct" -> b.cPuct = Double.parseDouble(v);
                case "similarityThreshold" -> b.similarityThreshold = Double.parseDouble(v);
                case "similarityDiscount" -> b.similarityDiscount = Double.parseDouble(v);
                case "backupDiscount" -> b.backupDiscount = Double.parseDouble(v);
                case "stepReward" -> b.stepReward = Double.parseDouble(v);
                case "expansionWidth" -> b.expansionWidth = Integer.parseInt(v);
                case "sampleAttempts" -> b.sampleAttempts = Integer.parseInt(v);
                case "spanLengths" -> b.spanLengths = Arrays.stream(v.split(",")).map(String::strip).mapToInt(Integer::parseInt).toArray();
                case "candidateTopK" -> b.candidateTopK = Integer.parseInt(v);
                case "candidateTemperature" -> b.candidateTemperature = Double.parseDouble(v);
                case "singleTokenTopK" -> b.singleTokenTopK = Integer.parseInt(v);
                case "singleTokenTemperature" -> b.singleTokenTemperature = Double.parseDouble(v);
                case "rootPriorNoise" -> b.rootPriorNoise = Double.parseDouble(v);
                case "dynamicAddMaxChildren" -> b.dynamicAddMaxChildren = Integer.parseInt(v);
                case "dynamicAddVarianceFactor" -> b.dynamicAddVarianceFactor = Double.parseDouble(v);
                case "dynamicAddMaxValue" -> b.dynamicAddMaxValue = Double.parseDouble(v);
                case "dynamicAddWidth" -> b.dynamicAddWidth = Integer.parseInt(v);
                case "clauseEnds" -> b.clauseEnds = v.replace("\\n", "\n");
                case "simulationStopsAtTurn" -> b.simulationStopsAtTurn = bool(v);
                case "simulationStopsAtEnd" -> b.simulationStopsAtEnd = bool(v);
                case "stopAtEndOfGeneration" -> b.stopAtEndOfGeneration = bool(v);
                case "maxLength" -> b.maxLength = Integer.parseInt(v);
                case "maxNewTokens" -> b.maxNewTokens = Integer.parseInt(v);
                case "seed" -> b.seed = Long.parseLong(v);
                default -> throw new UserException("unknown RAIN parameter '" + name + "' (valid: " + String.join(", ", NAMES) + ")");
            }
        } catch (NumberFormatException e) {
            throw new UserException("--param " + name + ": '" + v + "' is not a number of the right kind");
        }
    }

    private static boolean bool(String v) {
        return switch (v) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new NumberFormatException(v);
        };
    }
}
