/// A position in a .cnn source file. Lines and columns count from 1; columns count characters.
public struct SourceLocation: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// An error in a .cnn file, printed the way a compiler prints one:
///
///     net.cnn:4:12: error: kernel 5x5 exceeds padded input 4x4
///         conv 8 5x5
///                ^~~
///     hint: pad the input (pad=same) or use a smaller kernel
public struct Diagnostic: Error, Sendable, Equatable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String
    /// The full text of the offending line (without its line ending).
    public var lineText: String
    /// How many characters the caret underlines (at least 1).
    public var length: Int
    public var hint: String?

    public init(_ message: String, at location: SourceLocation, lineText: String, length: Int = 1, hint: String? = nil) {
        self.message = message
        self.location = location
        self.lineText = lineText
        self.length = max(1, length)
        self.hint = hint
    }

    /// The first line alone: `file:line:col: error: message`.
    public var headline: String { "\(location): error: \(message)" }

    public var description: String {
        var out = headline + "\n"
        let shown = lineText.replacingTabs()
        out += "    " + shown + "\n"
        let caretColumn = max(1, location.column)
        out += "    " + String(repeating: " ", count: caretColumn - 1) + "^"
        if length > 1 { out += String(repeating: "~", count: length - 1) }
        if let hint { out += "\nhint: " + hint }
        return out
    }
}

extension String {
    /// Tabs become single spaces so that the caret lines up with the character column.
    func replacingTabs() -> String {
        String(map { $0 == "\t" ? " " : $0 })
    }
}
