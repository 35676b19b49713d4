/// Checked 64-bit size arithmetic. Shape inference computes every element count, parameter count and MAC count
/// through these, so an intermediate that does not fit in 64 bits is a value it reports at the statement (nil),
/// never a trap; past shape inference the limits (`Limits`) prove that plain arithmetic cannot overflow.
public enum Checked {
    /// The product of `factors`, or nil when it (or any partial product) does not fit in an `Int`.
    public static func product(_ factors: Int...) -> Int? { product(factors) }

    public static func product<S: Sequence<Int>>(_ factors: S) -> Int? {
        var result = 1
        for f in factors {
            let (p, overflow) = result.multipliedReportingOverflow(by: f)
            if overflow { return nil }
            result = p
        }
        return result
    }

    /// The sum of `terms`, or nil when it does not fit in an `Int`.
    public static func sum(_ terms: Int...) -> Int? { sum(terms) }

    public static func sum<S: Sequence<Int>>(_ terms: S) -> Int? {
        var result = 0
        for t in terms {
            let (s, overflow) = result.addingReportingOverflow(t)
            if overflow { return nil }
            result = s
        }
        return result
    }
}
