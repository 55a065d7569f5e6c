//! PromQL text → [`Expr`], with Prometheus' type checks. What the simulator cannot evaluate is
//! refused here with a message that says so, never by a panic; hostile input is bounded by
//! [`MAX_QUERY_BYTES`] and [`MAX_DEPTH`].
//!
//! Hand-written rather than the `promql-parser` crate (GreptimeTeam 0.11.1), decided against
//! a real Prometheus 2.42 on 101 inputs (this module's tests, the rule expressions, the panel's
//! query, probes) plus 237 inputs where a fuzzer found the two front ends disagreeing:
//! - its errors carry no position (`parse` drops the grammar's error list and returns a bare
//!   string), and common typos (`1 +`, `foo{a="b",,}`) come out as "invalid promql query";
//!   9 of 2.42's 50 error texts matched exactly, against 22 here — and the alert panel shows
//!   Prometheus' `L:C: parse error: …` text verbatim;
//! - it follows Prometheus 3, not 2.42: it accepts `rate(foo[5])`, `5m` as a number, `{"foo"}`
//!   and `1e400`, which 2.42 refuses;
//! - its tree drops unary `+` (`+foo` prints `foo`; 2.42 prints `+foo`), so `Display` — the
//!   `query` of `/api/v1/rules` — cannot match, and it refuses `0e4`;
//! - it adds 17 crates (syn and prettyplease at run time), parses the panel's queries 2–6×
//!   slower, is quadratic on nested input and overflows a 2 MiB stack at 10,000 `(`.
//!
//! On the three queries the panel sends, both front ends give the same tree.

use regex::RegexBuilder;

use super::gofmt;
use super::lexer::{Tok, Token, lex};
use super::promql::{
    AggregateOp, BinaryOp, Expr, Function, METRIC_NAME, MatchOp, Matcher, Selector, ValueType,
};

/// Longest query accepted.
pub const MAX_QUERY_BYTES: usize = 10 * 1024;

/// Deepest nesting of sub-expressions accepted.
pub const MAX_DEPTH: usize = 64;

/// Largest compiled label-matcher regex.
const MAX_REGEX_BYTES: usize = 1 << 20;

/// A parse error at a byte offset of the query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{col}: parse error: {message}")]
pub struct ParseError {
    pub line: usize,
    pub col: usize,
    pub message: String,
    /// Byte offset, resolved to `line`/`col` once the input is known.
    pos: usize,
}

impl ParseError {
    pub fn at(pos: usize, message: impl Into<String>) -> Self {
        Self {
            line: 1,
            col: pos + 1,
            message: message.into(),
            pos,
        }
    }

    /// Line and column (1-based, in bytes) as Prometheus reports them.
    fn locate(mut self, input: &str) -> Self {
        let before = input.get(..self.pos).unwrap_or(input);
        self.line = 1 + before.matches('\n').count();
        self.col = match before.rfind('\n') {
            Some(newline) => self.pos - newline,
            None => self.pos + 1,
        };
        self
    }
}

/// Parse a whole PromQL expression.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    if input.len() > MAX_QUERY_BYTES {
        return Err(ParseError::at(
            0,
            format!("query is longer than the simulator's limit of {MAX_QUERY_BYTES} bytes"),
        ));
    }
    let tokens = lex(input).map_err(|e| e.locate(input))?;
    let mut parser = Parser {
        tokens,
        next: 0,
        depth: 0,
    };
    let result = if parser.peek() == &Tok::Eof {
        Err(ParseError::at(0, "no expression found in input"))
    } else {
        parser.expr(0).and_then(|expr| match parser.peek() {
            Tok::Eof => Ok(expr),
            other => Err(ParseError::at(
                parser.pos(),
                format!("unexpected {}", other.describe()),
            )),
        })
    };
    result.map_err(|e| e.locate(input))
}

/// Aggregations Prometheus has and the simulator does not.
const OTHER_AGGREGATIONS: [&str; 7] = [
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "count_values",
    "quantile",
];

/// Keywords that cannot start an expression.
const KEYWORDS: [&str; 12] = [
    "by",
    "without",
    "bool",
    "offset",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "atan2",
];

/// Functions Prometheus 2.42 has and the simulator does not.
const OTHER_FUNCTIONS: &[&str] = &[
    "abs",
    "absent",
    "absent_over_time",
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atanh",
    "avg_over_time",
    "ceil",
    "changes",
    "clamp",
    "clamp_max",
    "clamp_min",
    "cos",
    "cosh",
    "count_over_time",
    "days_in_month",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "deg",
    "delta",
    "deriv",
    "exp",
    "floor",
    "histogram_count",
    "histogram_sum",
    "histogram_fraction",
    "histogram_quantile",
    "holt_winters",
    "hour",
    "idelta",
    "label_join",
    "label_replace",
    "last_over_time",
    "ln",
    "log10",
    "log2",
    "max_over_time",
    "min_over_time",
    "minute",
    "month",
    "pi",
    "predict_linear",
    "present_over_time",
    "quantile_over_time",
    "rad",
    "resets",
    "round",
    "scalar",
    "sgn",
    "sin",
    "sinh",
    "sort",
    "sort_desc",
    "sqrt",
    "stddev_over_time",
    "stdvar_over_time",
    "sum_over_time",
    "tan",
    "tanh",
    "time",
    "timestamp",
    "vector",
    "year",
];

fn unsupported(what: impl std::fmt::Display) -> String {
    format!("{what} is not supported by the control-room simulator's Prometheus")
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        self.peek_at(0)
    }

    fn peek_at(&self, offset: usize) -> &Tok {
        self.tokens
            .get(self.next + offset)
            .or(self.tokens.last())
            .map_or(&Tok::Eof, |t| &t.tok)
    }

    fn pos(&self) -> usize {
        self.tokens
            .get(self.next)
            .or(self.tokens.last())
            .map_or(0, |t| t.pos)
    }

    fn advance(&mut self) -> Tok {
        let tok = self.peek().clone();
        if self.next < self.tokens.len() {
            self.next += 1;
        }
        tok
    }

    fn error<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError::at(self.pos(), message))
    }

    fn unexpected<T>(&self, context: &str) -> Result<T, ParseError> {
        self.error(format!("unexpected {} {context}", self.peek().describe()))
    }

    fn expect(&mut self, tok: Tok, context: &str) -> Result<(), ParseError> {
        if self.peek() == &tok {
            self.advance();
            Ok(())
        } else {
            self.unexpected(context)
        }
    }

    /// `true` when the next token is the keyword `word` (any case).
    fn at_keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Tok::Ident(w) if w.eq_ignore_ascii_case(word))
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.error(format!(
                "expression is nested more deeply than the simulator's limit of {MAX_DEPTH}"
            ));
        }
        Ok(())
    }

    /// An expression whose binary operators bind at least as strongly as `min_precedence`.
    fn expr(&mut self, min_precedence: u8) -> Result<Expr, ParseError> {
        self.enter()?;
        let depth = self.depth;
        let mut lhs = self.unary()?;
        while let Some(op) = self.binary_op()? {
            if op.precedence() < min_precedence {
                break;
            }
            let op_pos = self.pos();
            self.advance();
            let return_bool = self.at_keyword("bool");
            if return_bool {
                self.advance();
            }
            for modifier in ["on", "ignoring", "group_left", "group_right"] {
                if self.at_keyword(modifier) {
                    return self.error(unsupported(format!("vector matching ({modifier})")));
                }
            }
            let next_min = if op.right_associative() {
                op.precedence()
            } else {
                op.precedence() + 1
            };
            let rhs = self.expr(next_min)?;
            lhs = binary(op, lhs, rhs, return_bool).map_err(|m| ParseError::at(op_pos, m))?;
            // `a + b + c …` nests to the left without recursing here: count each link, so
            // evaluating, printing and dropping the tree stay within the limit too.
            self.enter()?;
        }
        self.depth = depth - 1;
        Ok(lhs)
    }

    /// The binary operator at the cursor, if any.
    fn binary_op(&self) -> Result<Option<BinaryOp>, ParseError> {
        Ok(Some(match self.peek() {
            Tok::Plus => BinaryOp::Add,
            Tok::Minus => BinaryOp::Sub,
            Tok::Star => BinaryOp::Mul,
            Tok::Slash => BinaryOp::Div,
            Tok::Percent => BinaryOp::Mod,
            Tok::Caret => BinaryOp::Pow,
            Tok::EqualEqual => BinaryOp::Eq,
            Tok::NotEqual => BinaryOp::Ne,
            Tok::Greater => BinaryOp::Gt,
            Tok::Less => BinaryOp::Lt,
            Tok::GreaterEqual => BinaryOp::Ge,
            Tok::LessEqual => BinaryOp::Le,
            Tok::Ident(word)
                if ["and", "or", "unless", "atan2"]
                    .iter()
                    .any(|k| word.eq_ignore_ascii_case(k)) =>
            {
                return self.error(unsupported(format!(
                    "the operator {:?}",
                    word.to_ascii_lowercase()
                )));
            }
            _ => return Ok(None),
        }))
    }

    /// `-x`, `+x` or a postfix expression. The operand binds like `*`: `-a^b` is `-(a^b)`.
    fn unary(&mut self) -> Result<Expr, ParseError> {
        let negate = match self.peek() {
            Tok::Minus => true,
            Tok::Plus => false,
            _ => return self.postfix(),
        };
        let pos = self.pos();
        self.advance();
        let expr = self.expr(BinaryOp::Pow.precedence())?;
        match (expr, negate) {
            (Expr::Number(v), true) => Ok(Expr::Number(-v)),
            (Expr::Number(v), false) => Ok(Expr::Number(v)),
            (expr, negate) => {
                let kind = expr.value_type();
                if kind == ValueType::Matrix {
                    return Err(ParseError::at(
                        pos,
                        format!(
                            "unary expression only allowed on expressions of type scalar or \
                             instant vector, got {:?}",
                            kind.describe()
                        ),
                    ));
                }
                Ok(Expr::Unary {
                    negate,
                    expr: Box::new(expr),
                })
            }
        }
    }

    /// A primary expression with its `[range]` and `offset` modifiers.
    fn postfix(&mut self) -> Result<Expr, ParseError> {
        let mut expr = self.primary()?;
        loop {
            match self.peek() {
                Tok::LBracket => {
                    let pos = self.pos();
                    self.advance();
                    let range_ms = self.duration("in range selector")?;
                    if self.peek() == &Tok::Colon {
                        return self.error(unsupported("a subquery"));
                    }
                    self.expect(Tok::RBracket, "in range selector, expected \"]\"")?;
                    expr = match expr {
                        Expr::Selector(selector) if selector.offset_ms != 0 => {
                            return Err(ParseError::at(
                                pos,
                                "no offset modifiers allowed before range",
                            ));
                        }
                        Expr::Selector(selector) => Expr::Range { selector, range_ms },
                        _ => {
                            return Err(ParseError::at(
                                pos,
                                "ranges only allowed for vector selectors",
                            ));
                        }
                    };
                }
                Tok::Ident(word) if word.eq_ignore_ascii_case("offset") => {
                    let pos = self.pos();
                    self.advance();
                    let negative = self.peek() == &Tok::Minus;
                    if negative {
                        self.advance();
                    }
                    let ms = self.duration("in offset")?;
                    let ms = if negative { -ms } else { ms };
                    let set = |selector: &mut Selector| {
                        if selector.offset_ms != 0 {
                            Err(ParseError::at(pos, "offset may not be set multiple times"))
                        } else {
                            selector.offset_ms = ms;
                            Ok(())
                        }
                    };
                    match &mut expr {
                        Expr::Selector(selector) | Expr::Range { selector, .. } => set(selector)?,
                        _ => {
                            return Err(ParseError::at(
                                pos,
                                "offset modifier must be preceded by an instant vector selector \
                                 or range vector selector or a subquery",
                            ));
                        }
                    }
                }
                Tok::At => return self.error(unsupported("the @ modifier")),
                _ => return Ok(expr),
            }
        }
    }

    fn duration(&mut self, context: &str) -> Result<i64, ParseError> {
        let pos = self.pos();
        match self.advance() {
            Tok::Duration(text) => {
                gofmt::parse_duration(&text).map_err(|why| ParseError::at(pos, why))
            }
            other => Err(ParseError::at(
                pos,
                format!(
                    "unexpected {} {context}, expected duration",
                    other.describe()
                ),
            )),
        }
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        match self.peek().clone() {
            Tok::Number(v) => {
                self.advance();
                Ok(Expr::Number(v))
            }
            Tok::LParen => {
                self.advance();
                let inner = self.expr(0)?;
                self.expect(Tok::RParen, "in parenthesized expression, expected \")\"")?;
                Ok(Expr::Paren(Box::new(inner)))
            }
            Tok::LBrace => self.selector(None),
            Tok::Ident(word) => self.identifier(word),
            Tok::Str(_) => self.error(unsupported("a string literal as an expression")),
            Tok::Eof => self.error("unexpected end of input"),
            _ => self.unexpected("at the start of an expression"),
        }
    }

    fn identifier(&mut self, word: String) -> Result<Expr, ParseError> {
        let lower = word.to_ascii_lowercase();
        if let Some(op) = AggregateOp::from_keyword(&word) {
            return self.aggregation(op);
        }
        if OTHER_AGGREGATIONS.contains(&lower.as_str()) {
            return self.error(unsupported(format!("the aggregation {lower:?}")));
        }
        if KEYWORDS.contains(&lower.as_str()) {
            return self.unexpected("at the start of an expression");
        }
        if self.peek_at(1) == &Tok::LParen {
            return self.call(&word);
        }
        self.advance();
        self.selector(Some(word))
    }

    fn call(&mut self, name: &str) -> Result<Expr, ParseError> {
        let pos = self.pos();
        let Some(func) = Function::from_name(name) else {
            if OTHER_FUNCTIONS.contains(&name) {
                return self.error(unsupported(format!("the function {name:?}")));
            }
            return self.error(format!("unknown function with name {name:?}"));
        };
        self.advance();
        self.advance();
        let mut args = Vec::new();
        while self.peek() != &Tok::RParen {
            if !args.is_empty() {
                self.expect(Tok::Comma, "in function call, expected \",\" or \")\"")?;
                if self.peek() == &Tok::RParen {
                    return self.error("trailing commas not allowed in function call args");
                }
            }
            args.push(self.expr(0)?);
        }
        self.advance();
        if args.len() != 1 {
            return Err(ParseError::at(
                pos,
                format!(
                    "expected 1 argument(s) in call to {:?}, got {}",
                    func.name(),
                    args.len()
                ),
            ));
        }
        let mut arg = args.remove(0);
        // `rate((x[5m]))` reads the range selector inside the parentheses.
        while let Expr::Paren(inner) = arg {
            arg = *inner;
        }
        if arg.value_type() != ValueType::Matrix {
            return Err(ParseError::at(
                pos,
                format!(
                    "expected type range vector in call to function {:?}, got {}",
                    func.name(),
                    arg.value_type().describe()
                ),
            ));
        }
        Ok(Expr::Call {
            func,
            arg: Box::new(arg),
        })
    }

    /// `op [by|without (labels)] (expr) [by|without (labels)]`.
    fn aggregation(&mut self, op: AggregateOp) -> Result<Expr, ParseError> {
        let pos = self.pos();
        self.advance();
        let mut grouping = self.grouping()?;
        self.expect(Tok::LParen, "in aggregation, expected \"(\"")?;
        let mut args = Vec::new();
        while self.peek() != &Tok::RParen {
            if !args.is_empty() {
                self.expect(Tok::Comma, "in aggregation, expected \",\" or \")\"")?;
            }
            args.push(self.expr(0)?);
        }
        self.advance();
        if grouping.is_none() {
            grouping = self.grouping()?;
        }
        if args.len() != 1 {
            return Err(ParseError::at(
                pos,
                format!(
                    "wrong number of arguments for aggregate expression provided, expected 1, \
                     got {}",
                    args.len()
                ),
            ));
        }
        let expr = args.remove(0);
        if expr.value_type() != ValueType::Vector {
            return Err(ParseError::at(
                pos,
                format!(
                    "expected type instant vector in aggregation expression, got {}",
                    expr.value_type().describe()
                ),
            ));
        }
        let (without, grouping) = grouping.unwrap_or((false, Vec::new()));
        Ok(Expr::Aggregate {
            op,
            without,
            grouping,
            expr: Box::new(expr),
        })
    }

    /// `by (a, b)` / `without (a)`, if present.
    fn grouping(&mut self) -> Result<Option<(bool, Vec<String>)>, ParseError> {
        let without = if self.at_keyword("by") {
            false
        } else if self.at_keyword("without") {
            true
        } else {
            return Ok(None);
        };
        self.advance();
        self.expect(Tok::LParen, "in grouping, expected \"(\"")?;
        let mut labels = Vec::new();
        loop {
            match self.advance() {
                Tok::RParen => break,
                Tok::Ident(name) if is_label_name(&name) => {
                    labels.push(name);
                    match self.advance() {
                        Tok::Comma => {}
                        Tok::RParen => break,
                        other => {
                            return self.error(format!(
                                "unexpected {} in grouping opts, expected \",\" or \")\"",
                                other.describe()
                            ));
                        }
                    }
                }
                other => {
                    return self.error(format!(
                        "unexpected {} in grouping opts, expected label",
                        other.describe()
                    ));
                }
            }
        }
        Ok(Some((without, labels)))
    }

    /// `{matchers}` after an optional metric name.
    fn selector(&mut self, name: Option<String>) -> Result<Expr, ParseError> {
        let pos = self.pos();
        let mut matchers = Vec::new();
        if self.peek() == &Tok::LBrace {
            self.advance();
            loop {
                let label = match self.advance() {
                    Tok::RBrace => break,
                    Tok::Ident(label) if is_label_name(&label) => label,
                    Tok::Eof => return self.error("unexpected end of input inside braces"),
                    other => {
                        return self.error(format!(
                            "unexpected {} in label matching, expected label",
                            other.describe()
                        ));
                    }
                };
                let op = match self.advance() {
                    Tok::Assign => MatchOp::Equal,
                    Tok::NotEqual => MatchOp::NotEqual,
                    Tok::RegexMatch => MatchOp::Regex,
                    Tok::RegexNoMatch => MatchOp::NotRegex,
                    other => {
                        return self.error(format!(
                            "unexpected {} in label matching, expected one of \"=\", \"!=\", \
                             \"=~\" or \"!~\"",
                            other.describe()
                        ));
                    }
                };
                let value_pos = self.pos();
                let Tok::Str(value) = self.advance() else {
                    return Err(ParseError::at(
                        value_pos,
                        "unexpected token in label matching, expected string",
                    ));
                };
                matchers.push(matcher(label, op, value).map_err(|m| ParseError::at(value_pos, m))?);
                match self.advance() {
                    Tok::Comma => {}
                    Tok::RBrace => break,
                    Tok::Eof => return self.error("unexpected end of input inside braces"),
                    other => {
                        return self.error(format!(
                            "unexpected {} in label matching, expected \",\" or \"}}\"",
                            other.describe()
                        ));
                    }
                }
            }
        }
        if let Some(name) = &name {
            if let Some(other) = matchers.iter().find(|m| m.name == METRIC_NAME) {
                return Err(ParseError::at(
                    pos,
                    format!(
                        "metric name must not be set twice: {} or {}",
                        gofmt::quote(name),
                        gofmt::quote(&other.value)
                    ),
                ));
            }
            matchers.push(Matcher {
                name: METRIC_NAME.to_string(),
                op: MatchOp::Equal,
                value: name.clone(),
                regex: None,
            });
        }
        if matchers.iter().all(|m| m.matches("")) {
            return Err(ParseError::at(
                pos,
                "vector selector must contain at least one non-empty matcher",
            ));
        }
        Ok(Expr::Selector(Selector {
            name,
            matchers,
            offset_ms: 0,
        }))
    }
}

fn is_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn matcher(name: String, op: MatchOp, value: String) -> Result<Matcher, String> {
    let regex = match op {
        MatchOp::Equal | MatchOp::NotEqual => None,
        MatchOp::Regex | MatchOp::NotRegex => Some(
            RegexBuilder::new(&format!("^(?:{value})$"))
                .size_limit(MAX_REGEX_BYTES)
                .build()
                .map_err(|e| {
                    format!(
                        "invalid regular expression {}: {}",
                        gofmt::quote(&value),
                        e.to_string().lines().last().unwrap_or("")
                    )
                })?,
        ),
    };
    Ok(Matcher {
        name,
        op,
        value,
        regex,
    })
}

/// `lhs op rhs` after Prometheus' checks of the operand types.
fn binary(op: BinaryOp, lhs: Expr, rhs: Expr, return_bool: bool) -> Result<Expr, String> {
    let (lt, rt) = (lhs.value_type(), rhs.value_type());
    if return_bool && !op.is_comparison() {
        return Err("bool modifier can only be used on comparison operators".to_string());
    }
    if lt == ValueType::Matrix || rt == ValueType::Matrix {
        return Err("binary expression must contain only scalar and instant vector types".into());
    }
    if op.is_comparison() && !return_bool && lt == ValueType::Scalar && rt == ValueType::Scalar {
        return Err("comparisons between scalars must use BOOL modifier".to_string());
    }
    if lt == ValueType::Vector && rt == ValueType::Vector {
        return Err(unsupported("a binary operation between two vectors"));
    }
    Ok(Expr::Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
        return_bool,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = include_str!("../../../../../demo-scripts/prometheus/alert-rules.yaml");

    fn rule_exprs() -> Vec<String> {
        let doc: serde_json::Value = serde_saphyr::from_str(RULES).unwrap();
        doc["groups"][0]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["expr"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn the_rule_expressions_parse_and_print_like_prometheus() {
        let printed: Vec<String> = rule_exprs()
            .iter()
            .map(|e| parse(e).unwrap().to_string())
            .collect();
        let by = "sum by (cluster, source_workload, source_workload_namespace, source_principal, \
                  destination_service_namespace, destination_service_name)";
        assert_eq!(
            printed,
            [
                format!(
                    "{by} (rate(istio_tcp_connections_failed_total{{response_flags=\"CONNECT\"}}[5m])) > 0"
                ),
                format!(
                    "{by} (rate({{__name__=~\"istio_tcp_connections_(opened|failed)_total\",\
                     destination_service_namespace=\"external-attacker\",\
                     source_workload_namespace=~\"trustusbank-.+\"}}[5m])) > 0"
                ),
            ]
        );
    }

    #[test]
    fn prints_the_canonical_form() {
        for (input, printed) in [
            ("foo", "foo"),
            ("foo{}", "foo"),
            ("foo{b='x', a=\"y\",}", "foo{a=\"y\",b=\"x\"}"),
            ("SUM(foo) BY (a)", "sum by (a) (foo)"),
            ("sum without() (foo)", "sum without () (foo)"),
            ("sum by () (foo)", "sum(foo)"),
            ("rate(foo[90s] offset 1m)", "rate(foo[1m30s] offset 1m)"),
            ("foo offset -5m", "foo offset -5m"),
            ("1 + 2 * 3", "1 + 2 * 3"),
            ("(1 + 2) * 3", "(1 + 2) * 3"),
            ("-foo", "-foo"),
            ("- 2 ^ 2", "-2 ^ 2"),
            ("- 2 * 3", "-2 * 3"),
            ("-(2)", "-(2)"),
            ("2 ^ 3 ^ 2", "2 ^ 3 ^ 2"),
            ("foo > bool 1", "foo > bool 1"),
            ("1e6", "1e+06"),
            ("0x10", "16"),
            ("{__name__=\"foo\"}", "{__name__=\"foo\"}"),
        ] {
            assert_eq!(parse(input).unwrap().to_string(), printed, "{input}");
        }
    }

    #[test]
    fn precedence_and_associativity() {
        let Expr::Binary { op, lhs, .. } = parse("1 - 2 - 3 > bool 0").unwrap() else {
            panic!("not binary")
        };
        assert_eq!(op, BinaryOp::Gt);
        let Expr::Binary { op, lhs, .. } = *lhs else {
            panic!("not binary")
        };
        assert_eq!(op, BinaryOp::Sub);
        assert!(matches!(
            *lhs,
            Expr::Binary {
                op: BinaryOp::Sub,
                ..
            }
        ));
        let Expr::Binary { op, rhs, .. } = parse("2 ^ 3 ^ 2").unwrap() else {
            panic!("not binary")
        };
        assert_eq!(op, BinaryOp::Pow);
        assert!(matches!(
            *rhs,
            Expr::Binary {
                op: BinaryOp::Pow,
                ..
            }
        ));
    }

    fn error_of(input: &str) -> String {
        match parse(input) {
            Ok(expr) => panic!("{input:?} parsed as {expr}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn malformed_queries_are_errors() {
        for (input, expected) in [
            ("", "1:1: parse error: no expression found in input"),
            ("   ", "no expression found in input"),
            ("foo{a=\"b\"", "unexpected end of input inside braces"),
            ("foo{a=\"b\"}}", "1:11: parse error: unexpected \"}\""),
            ("foo{a}", "expected one of"),
            ("foo{a=b}", "expected string"),
            ("sum(foo", "unexpected end of input"),
            ("(foo", "expected \")\""),
            ("foo)", "unexpected \")\""),
            ("nosuch(foo)", "unknown function with name \"nosuch\""),
            ("abs(foo)", "the function \"abs\" is not supported"),
            ("topk(3, foo)", "the aggregation \"topk\" is not supported"),
            ("rate(foo[5x])", "not a valid duration string: \"5x\""),
            ("rate(foo[30s1m])", "not a valid duration string"),
            ("rate(foo[5])", "expected duration"),
            ("rate(foo[])", "expected duration"),
            (
                "rate(foo)",
                "expected type range vector in call to function \"rate\", got instant vector",
            ),
            ("rate(foo[5m], foo[5m])", "expected 1 argument(s)"),
            ("rate(foo[5m],)", "trailing commas not allowed"),
            (
                "sum(foo[5m])",
                "expected type instant vector in aggregation expression, got range vector",
            ),
            ("sum(1)", "got scalar"),
            ("sum(foo, bar)", "wrong number of arguments"),
            (
                "1 > 0",
                "comparisons between scalars must use BOOL modifier",
            ),
            (
                "foo + bool 1",
                "bool modifier can only be used on comparison operators",
            ),
            (
                "foo[5m] > 0",
                "binary expression must contain only scalar and instant vector types",
            ),
            (
                "foo > bar",
                "binary operation between two vectors is not supported",
            ),
            ("foo and bar", "the operator \"and\" is not supported"),
            ("foo > on(a) 1", "vector matching (on) is not supported"),
            ("{}", "at least one non-empty matcher"),
            ("{a=~\".*\"}", "at least one non-empty matcher"),
            (
                "foo{__name__=\"bar\"}",
                "metric name must not be set twice: \"foo\" or \"bar\"",
            ),
            ("foo{a=~\"(\"}", "invalid regular expression \"(\""),
            ("(foo)[5m]", "ranges only allowed for vector selectors"),
            ("foo[5m][5m]", "ranges only allowed for vector selectors"),
            (
                "foo offset 1m [5m]",
                "no offset modifiers allowed before range",
            ),
            ("sum(foo) offset 1m", "offset modifier must be preceded by"),
            ("foo[5m:1m]", "a subquery is not supported"),
            ("foo @ 100", "the @ modifier is not supported"),
            (
                "\"text\"",
                "a string literal as an expression is not supported",
            ),
            ("-foo[5m]", "unary expression only allowed"),
            ("by", "unexpected identifier \"by\""),
            ("5m", "unexpected duration"),
            (
                "foo\n  bar",
                "2:3: parse error: unexpected identifier \"bar\"",
            ),
            ("foo{a:b=\"c\"}", "expected label"),
            ("sum by (a:b) (foo)", "expected label"),
        ] {
            let error = error_of(input);
            assert!(
                error.contains(expected),
                "{input:?}: {error:?} lacks {expected:?}"
            );
        }
    }

    #[test]
    fn hostile_queries_are_refused() {
        let deep = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(error_of(&deep).contains("longer than"));
        let deep = format!("{}1{}", "(".repeat(200), ")".repeat(200));
        assert!(error_of(&deep).contains("nested more deeply"));
        let deep = format!("{}1", "-".repeat(500));
        assert!(error_of(&deep).contains("nested more deeply"));
        let long_chain = format!("1{}", "+1".repeat(5000));
        assert!(error_of(&long_chain).contains("nested more deeply"));
        let long_chain = format!("foo{}", " > 0".repeat(100));
        assert!(error_of(&long_chain).contains("nested more deeply"));
        assert!(parse(&format!("1{}", "+1".repeat(40))).is_ok());
        assert!(parse(&format!("{}1{}", "(".repeat(30), ")".repeat(30))).is_ok());
        let huge = format!("foo{{a=~\"{}\"}}", "(a{1000}){1000}");
        assert!(error_of(&huge).contains("invalid regular expression"));
    }

    /// A small deterministic generator (xorshift), so the fuzz-ish test needs no crate.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn random_and_truncated_input_never_panics() {
        let mut seeds: Vec<String> = rule_exprs();
        seeds.extend(
            [
                "sum by (a) (rate(foo{b=~\"x|y\", c!=\"\"}[1m30s] offset 5m)) > bool 0.5",
                "avg without (a) (-irate(foo[5m])) * 2 ^ -1 % 3",
                "increase({__name__=~\"a.+\"}[1h]) <= 1e3",
                "max(foo) by (a,) == Inf",
                "'\\x41' `raw` \"\\u00e9\" # comment\n(1)",
            ]
            .map(String::from),
        );
        let alphabet: Vec<char> = "abc_:{}[]()=~!\"'`,.0123456789eExms+-*/%^<>@# \n\\é"
            .chars()
            .collect();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut parsed = 0;
        for round in 0..20_000 {
            let seed = &seeds[round % seeds.len()];
            let input: String = match round % 4 {
                // Every prefix of a seed.
                0 => seed
                    .chars()
                    .take(rng.below(seed.chars().count() + 1))
                    .collect(),
                // A seed with characters replaced.
                1 => seed
                    .chars()
                    .map(|c| {
                        if rng.below(8) == 0 {
                            alphabet[rng.below(alphabet.len())]
                        } else {
                            c
                        }
                    })
                    .collect(),
                // A seed with a slice cut out.
                2 => {
                    let chars: Vec<char> = seed.chars().collect();
                    let a = rng.below(chars.len() + 1);
                    let b = a + rng.below(chars.len() - a + 1);
                    chars[..a].iter().chain(&chars[b..]).collect()
                }
                // Pure noise.
                _ => (0..rng.below(40))
                    .map(|_| alphabet[rng.below(alphabet.len())])
                    .collect(),
            };
            if let Ok(expr) = parse(&input) {
                parsed += 1;
                // What parses prints as something that parses to the same text.
                let printed = expr.to_string();
                let again = parse(&printed)
                    .unwrap_or_else(|e| panic!("{input:?} printed as {printed:?}: {e}"));
                assert_eq!(again.to_string(), printed, "{input:?}");
            }
        }
        assert!(
            parsed > 100,
            "the generator should produce some valid queries ({parsed})"
        );
    }
}
