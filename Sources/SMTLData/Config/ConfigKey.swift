/// One key of a config file: its name, how it is read (type-checked, with the current value as
/// the default) and how it is written back into the resolved config. The tables of keys in
/// `RunConfig` drive both `parse` and `json()`, so the two can never disagree.
struct ConfigKey<Root> {
    let name: String
    let read: (inout ConfigSection, inout Root) throws -> Void
    /// The value to write, or nil to leave the key out.
    let write: (Root) -> Any?

    static func int(_ name: String, _ kp: WritableKeyPath<Root, Int>, min: Int = Int.min) -> ConfigKey {
        ConfigKey(
            name: name, read: { s, r in r[keyPath: kp] = try s.int(name, r[keyPath: kp], min: min) },
            write: { $0[keyPath: kp] })
    }

    static func seed(_ name: String, _ kp: WritableKeyPath<Root, UInt64>) -> ConfigKey {
        ConfigKey(
            name: name, read: { s, r in r[keyPath: kp] = UInt64(try s.int(name, Int(r[keyPath: kp]), min: 0)) },
            write: { Int($0[keyPath: kp]) })
    }

    static func number(_ name: String, _ kp: WritableKeyPath<Root, Double>) -> ConfigKey {
        ConfigKey(
            name: name, read: { s, r in r[keyPath: kp] = try s.number(name, r[keyPath: kp]) },
            write: { $0[keyPath: kp] })
    }

    /// A number that must satisfy `valid`; otherwise the message says it `must` be so.
    static func number(
        _ name: String, _ kp: WritableKeyPath<Root, Double>, must: String, _ valid: @escaping @Sendable (Double) -> Bool
    ) -> ConfigKey {
        ConfigKey(
            name: name,
            read: { s, r in
                let v = try s.number(name, r[keyPath: kp])
                guard valid(v) else { throw InputError(file: s.file, "\(s.where_(name)) must be \(must), not \(v)") }
                r[keyPath: kp] = v
            }, write: { $0[keyPath: kp] })
    }

    /// A probability in [0, 1) (a dropout rate).
    static func probability(_ name: String, _ kp: WritableKeyPath<Root, Double>) -> ConfigKey {
        number(name, kp, must: "in [0, 1)") { $0 >= 0 && $0 < 1 }
    }

    /// A finite number > 0.
    static func positive(_ name: String, _ kp: WritableKeyPath<Root, Double>) -> ConfigKey {
        number(name, kp, must: "a finite number > 0") { $0 > 0 && $0.isFinite }
    }

    /// A finite number ≥ 0.
    static func nonNegative(_ name: String, _ kp: WritableKeyPath<Root, Double>) -> ConfigKey {
        number(name, kp, must: "a finite number ≥ 0") { $0 >= 0 && $0.isFinite }
    }

    static func bool(_ name: String, _ kp: WritableKeyPath<Root, Bool>) -> ConfigKey {
        ConfigKey(
            name: name, read: { s, r in r[keyPath: kp] = try s.bool(name, r[keyPath: kp]) },
            write: { $0[keyPath: kp] })
    }

    /// A string that must be present (no default).
    static func required(_ name: String, _ kp: WritableKeyPath<Root, String>) -> ConfigKey {
        ConfigKey(name: name, read: { s, r in r[keyPath: kp] = try s.string(name) }, write: { $0[keyPath: kp] })
    }

    static func string(_ name: String, _ kp: WritableKeyPath<Root, String>) -> ConfigKey {
        ConfigKey(
            name: name, read: { s, r in r[keyPath: kp] = try s.string(name, r[keyPath: kp]) },
            write: { $0[keyPath: kp] })
    }

    /// A list of whole numbers ≥ 0, or nothing (written only when set).
    static func labels(_ name: String, _ kp: WritableKeyPath<Root, [Int]?>) -> ConfigKey {
        ConfigKey(
            name: name,
            read: { s, r in
                guard let v = s.value(name) else { return }
                guard let list = v as? [Any], !list.isEmpty,
                    let ints = try? list.map({ x -> Int in
                        guard !isJSONBool(x), let n = x as? Int, n >= 0 else { throw InputError(file: "", "") }
                        return n
                    }), Set(ints).count == ints.count, ints.count >= 2
                else {
                    throw InputError(
                        file: s.file, "\(s.where_(name)) must list at least two different labels (whole numbers ≥ 0)",
                        hint: "for example [0, 1]")
                }
                r[keyPath: kp] = ints.sorted()
            }, write: { $0[keyPath: kp] })
    }

    /// A list of file names, given as one string or a list (written as a string when it is one).
    static func files(_ name: String, _ kp: WritableKeyPath<Root, [String]>) -> ConfigKey {
        ConfigKey(
            name: name, read: { s, r in r[keyPath: kp] = try s.stringList(name) },
            write: { r in
                let v = r[keyPath: kp]
                if v.isEmpty { return nil }
                return v.count == 1 ? v[0] as Any : v as Any
            })
    }

    /// A string that may be left out (written only when set).
    static func optional(_ name: String, _ kp: WritableKeyPath<Root, String?>) -> ConfigKey {
        ConfigKey(name: name, read: { s, r in r[keyPath: kp] = try s.optionalString(name) }, write: { $0[keyPath: kp] })
    }

    /// One of an enum's raw values; a wrong one is refused with the list of choices.
    static func choice<E: RawRepresentable & CaseIterable>(
        _ name: String, _ kp: WritableKeyPath<Root, E>,
        where place: String
    ) -> ConfigKey where E.RawValue == String {
        ConfigKey(
            name: name,
            read: { s, r in
                let raw = try s.string(name, r[keyPath: kp].rawValue)
                guard let v = E(rawValue: raw) else {
                    throw InputError(
                        file: s.file, "`\(place)` is '\(raw)'",
                        hint: "choose one of: \(E.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                r[keyPath: kp] = v
            }, write: { $0[keyPath: kp].rawValue })
    }
}

extension ConfigSection {
    /// Reads every key of a table into `root`.
    mutating func read<Root>(_ keys: [ConfigKey<Root>], into root: inout Root) throws {
        for k in keys { try k.read(&self, &root) }
    }
}

/// The keys of a table with their values, for JSON.
func configJSON<Root>(_ keys: [ConfigKey<Root>], _ root: Root) -> [String: Any] {
    var d: [String: Any] = [:]
    for k in keys { if let v = k.write(root) { d[k.name] = v } }
    return d
}
