import SMTLModel
/// The study of the paper's Tables 3 and 4 (SPEC §8): its groups, tasks and models, and the test
/// accuracies the paper reports.
public enum Study {
    public struct Group: Sendable {
        public var name: String
        public var table: Int
        public var title: String
        /// Task names as in configs/study, with the paper's column headers.
        public var tasks: [(name: String, header: String)]
    }

    public static let groups: [Group] = [
        Group(
            name: "movie", table: 3, title: "Table 3: movie reviews",
            tasks: [("sst1", "SST-1"), ("sst2", "SST-2"), ("subj", "SUBJ"), ("imdb", "IMDB")]),
        Group(
            name: "product", table: 4, title: "Table 4: product reviews",
            tasks: [("books", "Books"), ("dvd", "DVDs"), ("electronics", "Electronics"), ("kitchen", "Kitchen")]),
    ]

    /// Rows of the tables, in the paper's order.
    public static let models: [Architecture] = [.lstm, .meLSTM, .arc1, .arc2]

    /// Test accuracy (%) reported by the paper, by model and task (SPEC §8).
    public static let paper: [Architecture: [String: Double]] = [
        .lstm: [
            "sst1": 45.9, "sst2": 85.8, "subj": 91.6, "imdb": 88.5, "books": 78.0, "dvd": 79.5, "electronics": 81.2,
            "kitchen": 81.8,
        ],
        .meLSTM: [
            "sst1": 46.4, "sst2": 85.5, "subj": 91.0, "imdb": 88.7, "books": 77.5, "dvd": 80.2, "electronics": 81.5,
            "kitchen": 82.1,
        ],
        .arc1: [
            "sst1": 48.6, "sst2": 87.0, "subj": 93.8, "imdb": 89.8, "books": 81.2, "dvd": 82.0, "electronics": 84.5,
            "kitchen": 84.3,
        ],
        .arc2: [
            "sst1": 49.5, "sst2": 87.8, "subj": 95.0, "imdb": 91.2, "books": 82.8, "dvd": 83.0, "electronics": 85.5,
            "kitchen": 84.0,
        ],
    ]

    /// The paper's average of a group for a model (mean of its four columns).
    public static func paperAverage(_ model: Architecture, _ group: Group) -> Double {
        let xs = group.tasks.compactMap { paper[model]?[$0.name] }
        return xs.reduce(0, +) / Double(xs.count)
    }
}
