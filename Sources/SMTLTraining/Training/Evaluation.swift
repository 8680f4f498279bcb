import SMTLData
import SMTLModel
/// Accuracy and predictions of a model on labelled examples.
public enum Evaluation {
    /// Runs examples in batches of sequences of similar length (sorted; at most `batchSize`
    /// sequences and about `maxTokens` tokens, so long documents do not need huge buffers), and
    /// returns the predicted class index of every example, in the input order.
    public static func predict(
        _ net: Network<Float>, _ examples: [[Int32]], batchSize: Int = 64,
        maxTokens: Int = 16_384
    ) -> [Int] {
        var predicted = [Int](repeating: 0, count: examples.count)
        let order = examples.indices.sorted { examples[$0].count > examples[$1].count }
        var i = 0
        while i < order.count {
            var j = i + 1
            var tokens = examples[order[i]].count
            while j < order.count && j - i < batchSize && tokens + examples[order[j]].count <= maxTokens {
                tokens += examples[order[j]].count
                j += 1
            }
            let ids = Array(order[i..<j])
            let batch = Batch(sequences: ids.map { examples[$0].isEmpty ? [Vocabulary.unknownID] : examples[$0] })
            net.forward(batch)
            for b in 0..<batch.size {
                let p = net.probabilities(slot: b)
                predicted[ids[batch.source[b]]] = p.indices.max { p[$0] < p[$1] } ?? 0
            }
            i = j
        }
        return predicted
    }

    /// The confusion matrix of class indices: `[true class][predicted class]` counts.
    public static func confusion(_ net: Network<Float>, _ examples: [EncodedExample]) -> [[Int]] {
        var m = [[Int]](repeating: [Int](repeating: 0, count: net.classes), count: net.classes)
        for (p, x) in zip(predict(net, examples.map(\.tokens)), examples) { m[x.label][p] += 1 }
        return m
    }

    /// Accuracy in percent (nil when there are no examples).
    public static func accuracy(_ net: Network<Float>, _ examples: [EncodedExample]) -> Double? {
        if examples.isEmpty { return nil }
        let p = predict(net, examples.map(\.tokens))
        let right = zip(p, examples).filter { $0 == $1.label }.count
        return 100 * Double(right) / Double(examples.count)
    }
}
