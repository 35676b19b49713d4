// The one parser of the generated tools' command lines (train: Options.swift, predict: PredictOptions.swift):
// `--name VALUE`, `--name=VALUE`, flags, `-h` for `--help`, and the option a misspelt one probably meant. Each tool
// gives its table of options and what to do with an argument that is not an option; the parser's errors are
// RuntimeErrors, which the tools turn into UsageErrors (exit status 64, CommandLineConventions.swift).
import Foundation

/// One option of a tool whose settings are `Settings`: its name, value placeholder (nil for a flag), help text and
/// how it is applied (to a flag, with the value "").
struct CommandLineOption<Settings> {
    let name: String
    let value: String?
    let help: String
    let apply: (inout Settings, String) throws -> Void
}

/// Parses `arguments` (without the program name) into `settings` by `table`. `operand` takes each argument that is
/// not an option (one that does not start with `--`, or is `--` alone).
func parseCommandLine<Settings>(_ arguments: [String], into settings: inout Settings,
                                table: [CommandLineOption<Settings>],
                                operand: (inout Settings, String) throws -> Void) throws {
    var i = 0
    while i < arguments.count {
        let argument = arguments[i]
        i += 1
        if argument == "-h", let help = table.first(where: { $0.name == "--help" }) {
            try help.apply(&settings, "")
            continue
        }
        guard argument.hasPrefix("--"), argument.count > 2 else {
            try operand(&settings, argument)
            continue
        }
        var name = argument
        var inlineValue: String? = nil
        if let equals = argument.firstIndex(of: "=") {
            name = String(argument[..<equals])
            inlineValue = String(argument[argument.index(after: equals)...])
        }
        guard let option = table.first(where: { $0.name == name }) else {
            let nearest = table.min { editDistance($0.name, name) < editDistance($1.name, name) }!
            let close = editDistance(nearest.name, name) <= max(2, name.count / 3)
            let hint = close ? "; did you mean \(nearest.name)?" : "; see --help"
            throw RuntimeError("unknown option \(name)\(hint)")
        }
        guard let placeholder = option.value else {
            guard inlineValue == nil else { throw RuntimeError("\(name) takes no value") }
            try option.apply(&settings, "")
            continue
        }
        let value: String
        if let inlineValue {
            value = inlineValue
        } else {
            guard i < arguments.count, !arguments[i].hasPrefix("--") else {
                throw RuntimeError("\(name) needs a value (\(name) \(placeholder))")
            }
            value = arguments[i]
            i += 1
        }
        guard !value.isEmpty else { throw RuntimeError("\(name) needs a non-empty value (\(name) \(placeholder))") }
        try option.apply(&settings, value)
    }
}

/// The options part of --help: one line per option, `--name VALUE` padded to one column, then its help.
func optionHelpLines<Settings>(_ table: [CommandLineOption<Settings>]) -> [String] {
    let width = table.map { $0.name.count + ($0.value.map { $0.count + 1 } ?? 0) }.max() ?? 0
    return table.map { option in
        let left = option.name + (option.value.map { " " + $0 } ?? "")
        return "  " + left.padding(toLength: width + 2, withPad: " ", startingAt: 0) + option.help
    }
}

/// Edit distance, for suggesting the option the user probably meant.
func editDistance(_ a: String, _ b: String) -> Int {
    let x = Array(a.utf8), y = Array(b.utf8)
    var previous = Array(0...y.count)
    for (i, xi) in x.enumerated() {
        var current = [i + 1] + Array(repeating: 0, count: y.count)
        for (j, yj) in y.enumerated() {
            current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (xi == yj ? 0 : 1))
        }
        previous = current
    }
    return previous[y.count]
}
