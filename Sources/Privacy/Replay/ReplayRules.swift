/// How much page text a recording keeps.
public enum TextMasking: String, Sendable, CaseIterable {
    /// Text matching the PII scrubber's patterns is masked (the default).
    case pii
    /// Every character of text is masked (strict mode).
    case all
    /// Text is recorded as shown (input values are still masked).
    case none
}

/// A site's session-replay settings (`replay:` in the config).
public struct ReplayRules: Sendable, Equatable {
    public var enabled = false
    /// Share of page loads recorded, 0...1.
    public var sampleRate = 1.0
    public var maskText = TextMasking.pii
    /// Elements whose text, values, labels and images are replaced by placeholders.
    public var eraseSelectors: [String] = []
    /// Elements replaced whole by a box of the same size.
    public var blockSelectors: [String] = []

    public init(enabled: Bool = false, sampleRate: Double = 1, maskText: TextMasking = .pii, eraseSelectors: [String] = [], blockSelectors: [String] = []) {
        self.enabled = enabled
        self.sampleRate = sampleRate
        self.maskText = maskText
        self.eraseSelectors = eraseSelectors
        self.blockSelectors = blockSelectors
    }

    /// The attributes that always mean "erase" / "block", with no configuration.
    public static let eraseAttribute = "data-veil-erase"
    public static let blockAttribute = "data-veil-block"
}
