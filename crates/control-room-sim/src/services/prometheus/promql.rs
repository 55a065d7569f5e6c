//! The PromQL syntax tree the simulator understands, and how Prometheus prints it back
//! (`Display` is Prometheus' `String()`, e.g. the `query` of `/api/v1/rules`).
//!
//! The subset: number literals, vector and range selectors (with `offset`), `rate`,
//! `increase`, `irate`, the aggregations `sum`, `count`, `max`, `min`, `avg` with
//! `by`/`without`, unary `-`/`+`, and the binary operators `+ - * / % ^` and
//! `== != > < >= <=` (with `bool`) between scalars, or between a vector and a scalar.
//! [`parser`](super::parser) turns text into this tree and refuses the rest.

use std::fmt;

use regex::Regex;

use super::gofmt;

/// The label holding the metric name.
pub const METRIC_NAME: &str = "__name__";

/// What an expression evaluates to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Scalar,
    Vector,
    Matrix,
}

impl ValueType {
    /// As Prometheus names the type in its messages.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Scalar => "scalar",
            Self::Vector => "instant vector",
            Self::Matrix => "range vector",
        }
    }
}

#[derive(Debug, Clone)]
pub enum Expr {
    Number(f64),
    /// An instant vector selector.
    Selector(Selector),
    /// A range vector selector: the selector's samples over `range_ms` before the evaluation
    /// time (minus the selector's offset).
    Range {
        selector: Selector,
        range_ms: i64,
    },
    Call {
        func: Function,
        arg: Box<Expr>,
    },
    Aggregate {
        op: AggregateOp,
        /// `without (...)` instead of `by (...)`.
        without: bool,
        grouping: Vec<String>,
        expr: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        return_bool: bool,
    },
    /// `-expr` (`negate`) or `+expr`; on a number literal the parser folds it away.
    Unary {
        negate: bool,
        expr: Box<Expr>,
    },
    Paren(Box<Expr>),
}

impl Expr {
    pub fn value_type(&self) -> ValueType {
        match self {
            Self::Number(_) => ValueType::Scalar,
            Self::Selector(_) | Self::Call { .. } | Self::Aggregate { .. } => ValueType::Vector,
            Self::Range { .. } => ValueType::Matrix,
            Self::Binary { lhs, rhs, .. } => {
                if lhs.value_type() == ValueType::Scalar && rhs.value_type() == ValueType::Scalar {
                    ValueType::Scalar
                } else {
                    ValueType::Vector
                }
            }
            Self::Unary { expr, .. } | Self::Paren(expr) => expr.value_type(),
        }
    }
}

/// `name{label="value", ...} offset 5m`.
#[derive(Debug, Clone)]
pub struct Selector {
    /// The metric name written before the braces, if any (it is also the last matcher).
    pub name: Option<String>,
    pub matchers: Vec<Matcher>,
    /// Look this far back from the evaluation time (negative: ahead).
    pub offset_ms: i64,
}

impl Selector {
    fn write_without_offset(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name.as_deref().unwrap_or("");
        let mut matchers: Vec<String> = self
            .matchers
            .iter()
            .filter(|m| !(m.name == METRIC_NAME && m.op == MatchOp::Equal && m.value == name))
            .map(ToString::to_string)
            .collect();
        if matchers.is_empty() {
            return f.write_str(name);
        }
        matchers.sort();
        write!(f, "{name}{{{}}}", matchers.join(","))
    }

    fn write_offset(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset_ms {
            0 => Ok(()),
            ms if ms > 0 => write!(f, " offset {}", gofmt::duration(ms)),
            ms => write!(f, " offset -{}", gofmt::duration(-ms)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl MatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Equal => "=",
            Self::NotEqual => "!=",
            Self::Regex => "=~",
            Self::NotRegex => "!~",
        }
    }
}

/// One label matcher; a missing label matches as the empty string.
#[derive(Debug, Clone)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
    /// `^(?:value)$` for the regex operators.
    pub regex: Option<Regex>,
}

impl Matcher {
    pub fn matches(&self, value: &str) -> bool {
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => value == self.value,
            (MatchOp::NotEqual, _) => value != self.value,
            (MatchOp::Regex, Some(re)) => re.is_match(value),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(value),
            // The parser always compiles the regex of a regex matcher.
            (MatchOp::Regex | MatchOp::NotRegex, None) => false,
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}{}",
            self.name,
            self.op.as_str(),
            gofmt::quote(&self.value)
        )
    }
}

/// The functions the simulator evaluates (each takes one range vector).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Rate,
    Increase,
    Irate,
}

impl Function {
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "rate" => Self::Rate,
            "increase" => Self::Increase,
            "irate" => Self::Irate,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Rate => "rate",
            Self::Increase => "increase",
            Self::Irate => "irate",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateOp {
    Sum,
    Count,
    Max,
    Min,
    Avg,
}

impl AggregateOp {
    /// Keywords are case-insensitive in PromQL.
    pub fn from_keyword(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "sum" => Self::Sum,
            "count" => Self::Count,
            "max" => Self::Max,
            "min" => Self::Min,
            "avg" => Self::Avg,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sum => "sum",
            Self::Count => "count",
            Self::Max => "max",
            Self::Min => "min",
            Self::Avg => "avg",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
}

impl BinaryOp {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Add => "+",
            Self::Sub => "-",
            Self::Mul => "*",
            Self::Div => "/",
            Self::Mod => "%",
            Self::Pow => "^",
            Self::Eq => "==",
            Self::Ne => "!=",
            Self::Gt => ">",
            Self::Lt => "<",
            Self::Ge => ">=",
            Self::Le => "<=",
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            Self::Eq | Self::Ne | Self::Gt | Self::Lt | Self::Ge | Self::Le
        )
    }

    /// Binding strength, as in Prometheus: comparisons < `+ -` < `* / %` < `^`.
    pub fn precedence(self) -> u8 {
        match self {
            Self::Eq | Self::Ne | Self::Gt | Self::Lt | Self::Ge | Self::Le => 3,
            Self::Add | Self::Sub => 4,
            Self::Mul | Self::Div | Self::Mod => 5,
            Self::Pow => 6,
        }
    }

    pub fn right_associative(self) -> bool {
        self == Self::Pow
    }

    /// `lhs op rhs`: the value, and for comparisons whether it holds.
    pub fn apply(self, lhs: f64, rhs: f64) -> (f64, bool) {
        match self {
            Self::Add => (lhs + rhs, true),
            Self::Sub => (lhs - rhs, true),
            Self::Mul => (lhs * rhs, true),
            Self::Div => (lhs / rhs, true),
            Self::Mod => (lhs % rhs, true),
            Self::Pow => (lhs.powf(rhs), true),
            Self::Eq => (lhs, lhs == rhs),
            Self::Ne => (lhs, lhs != rhs),
            Self::Gt => (lhs, lhs > rhs),
            Self::Lt => (lhs, lhs < rhs),
            Self::Ge => (lhs, lhs >= rhs),
            Self::Le => (lhs, lhs <= rhs),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(v) => f.write_str(&gofmt::float_g(*v)),
            Self::Selector(selector) => {
                selector.write_without_offset(f)?;
                selector.write_offset(f)
            }
            Self::Range { selector, range_ms } => {
                selector.write_without_offset(f)?;
                write!(f, "[{}]", gofmt::duration(*range_ms))?;
                selector.write_offset(f)
            }
            Self::Call { func, arg } => write!(f, "{}({arg})", func.name()),
            Self::Aggregate {
                op,
                without,
                grouping,
                expr,
            } => {
                f.write_str(op.name())?;
                if *without {
                    write!(f, " without ({}) ", grouping.join(", "))?;
                } else if !grouping.is_empty() {
                    write!(f, " by ({}) ", grouping.join(", "))?;
                }
                write!(f, "({expr})")
            }
            Self::Binary {
                op,
                lhs,
                rhs,
                return_bool,
            } => {
                let bool_modifier = if *return_bool { " bool" } else { "" };
                write!(f, "{lhs} {}{bool_modifier} {rhs}", op.as_str())
            }
            Self::Unary { negate, expr } => {
                write!(f, "{}{expr}", if *negate { "-" } else { "+" })
            }
            Self::Paren(expr) => write!(f, "({expr})"),
        }
    }
}
