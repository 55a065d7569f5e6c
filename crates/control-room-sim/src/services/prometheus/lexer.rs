//! PromQL text → tokens, as Prometheus' lexer splits it: identifiers (keywords are told apart
//! by the parser), numbers, durations (a number with a unit: `5m`, `1h30m`), the three kinds
//! of string literal, operators and brackets. `#` starts a comment to the end of the line.

use super::parser::ParseError;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A metric name, label name, function name or keyword.
    Ident(String),
    Number(f64),
    /// The text of a duration (`5m`); the parser checks the units.
    Duration(String),
    Str(String),
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    Colon,
    At,
    /// `=`
    Assign,
    /// `!=`
    NotEqual,
    /// `=~`
    RegexMatch,
    /// `!~`
    RegexNoMatch,
    /// `==`
    EqualEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Caret,
    Eof,
}

impl Tok {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Self::Ident(name) => format!("identifier {name:?}"),
            Self::Number(_) => "number".to_string(),
            Self::Duration(text) => format!("duration {text:?}"),
            Self::Str(_) => "string".to_string(),
            Self::Eof => "end of input".to_string(),
            other => format!("\"{}\"", other.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Self::LParen => "(",
            Self::RParen => ")",
            Self::LBrace => "{",
            Self::RBrace => "}",
            Self::LBracket => "[",
            Self::RBracket => "]",
            Self::Comma => ",",
            Self::Colon => ":",
            Self::At => "@",
            Self::Assign => "=",
            Self::NotEqual => "!=",
            Self::RegexMatch => "=~",
            Self::RegexNoMatch => "!~",
            Self::EqualEqual => "==",
            Self::Greater => ">",
            Self::Less => "<",
            Self::GreaterEqual => ">=",
            Self::LessEqual => "<=",
            Self::Plus => "+",
            Self::Minus => "-",
            Self::Star => "*",
            Self::Slash => "/",
            Self::Percent => "%",
            Self::Caret => "^",
            Self::Ident(_) | Self::Number(_) | Self::Duration(_) | Self::Str(_) | Self::Eof => "",
        }
    }
}

/// A token and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub pos: usize,
}

pub fn lex(input: &str) -> Result<Vec<Token>, ParseError> {
    let mut lexer = Lexer {
        input,
        bytes: input.as_bytes(),
        pos: 0,
        in_brackets: false,
    };
    let mut tokens = Vec::new();
    loop {
        let token = lexer.next()?;
        let end = token.tok == Tok::Eof;
        tokens.push(token);
        if end {
            return Ok(tokens);
        }
    }
}

struct Lexer<'a> {
    input: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Inside `[...]` a colon separates a subquery's range and step.
    in_brackets: bool,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':'
}

fn is_ident_char(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit()
}

impl Lexer<'_> {
    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.pos + offset).copied()
    }

    fn next(&mut self) -> Result<Token, ParseError> {
        self.skip_space_and_comments();
        let start = self.pos;
        let Some(b) = self.peek_at(0) else {
            return Ok(Token {
                tok: Tok::Eof,
                pos: start,
            });
        };
        let two = |lexer: &mut Self, tok: Tok| {
            lexer.pos += 2;
            tok
        };
        let one = |lexer: &mut Self, tok: Tok| {
            lexer.pos += 1;
            tok
        };
        let next = self.peek_at(1);
        let tok = match b {
            b'(' => one(self, Tok::LParen),
            b')' => one(self, Tok::RParen),
            b'{' => one(self, Tok::LBrace),
            b'}' => one(self, Tok::RBrace),
            b'[' => {
                self.in_brackets = true;
                one(self, Tok::LBracket)
            }
            b']' => {
                self.in_brackets = false;
                one(self, Tok::RBracket)
            }
            b',' => one(self, Tok::Comma),
            b'@' => one(self, Tok::At),
            b'+' => one(self, Tok::Plus),
            b'-' => one(self, Tok::Minus),
            b'*' => one(self, Tok::Star),
            b'/' => one(self, Tok::Slash),
            b'%' => one(self, Tok::Percent),
            b'^' => one(self, Tok::Caret),
            b'=' if next == Some(b'=') => two(self, Tok::EqualEqual),
            b'=' if next == Some(b'~') => two(self, Tok::RegexMatch),
            b'=' => one(self, Tok::Assign),
            b'!' if next == Some(b'=') => two(self, Tok::NotEqual),
            b'!' if next == Some(b'~') => two(self, Tok::RegexNoMatch),
            b'!' => return Err(ParseError::at(start, "unexpected character after '!'")),
            b'>' if next == Some(b'=') => two(self, Tok::GreaterEqual),
            b'>' => one(self, Tok::Greater),
            b'<' if next == Some(b'=') => two(self, Tok::LessEqual),
            b'<' => one(self, Tok::Less),
            b'"' | b'\'' | b'`' => Tok::Str(self.string(b)?),
            b'0'..=b'9' => self.number_or_duration()?,
            b'.' if next.is_some_and(|n| n.is_ascii_digit()) => self.number_or_duration()?,
            // Colons outside identifiers only appear in subqueries (`[5m:1m]`).
            b':' if self.in_brackets || !next.is_some_and(is_ident_char) => one(self, Tok::Colon),
            b if is_ident_start(b) => {
                while self.peek_at(0).is_some_and(is_ident_char) {
                    self.pos += 1;
                }
                let word = &self.input[start..self.pos];
                match word.to_ascii_lowercase().as_str() {
                    "inf" => Tok::Number(f64::INFINITY),
                    "nan" => Tok::Number(f64::NAN),
                    _ => Tok::Ident(word.to_string()),
                }
            }
            _ => {
                let c = self.input[start..].chars().next().unwrap_or('?');
                return Err(ParseError::at(
                    start,
                    format!("unexpected character: {c:?}"),
                ));
            }
        };
        Ok(Token { tok, pos: start })
    }

    fn skip_space_and_comments(&mut self) {
        while let Some(b) = self.peek_at(0) {
            if b.is_ascii_whitespace() {
                self.pos += 1;
            } else if b == b'#' {
                while self.peek_at(0).is_some_and(|b| b != b'\n') {
                    self.pos += 1;
                }
            } else {
                return;
            }
        }
    }

    /// A number (decimal, `0x` hex, with fraction and exponent), or, when a unit letter
    /// follows the digits, a duration.
    fn number_or_duration(&mut self) -> Result<Tok, ParseError> {
        let start = self.pos;
        let hex = self.peek_at(0) == Some(b'0') && matches!(self.peek_at(1), Some(b'x' | b'X'));
        if hex {
            self.pos += 2;
            while self.peek_at(0).is_some_and(|b| b.is_ascii_hexdigit()) {
                self.pos += 1;
            }
        } else {
            self.digits();
            if self.peek_at(0) == Some(b'.') {
                self.pos += 1;
                self.digits();
            }
            if matches!(self.peek_at(0), Some(b'e' | b'E')) {
                self.pos += 1;
                if matches!(self.peek_at(0), Some(b'+' | b'-')) {
                    self.pos += 1;
                }
                self.digits();
            }
        }
        if !self
            .peek_at(0)
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            let text = &self.input[start..self.pos];
            return parse_number(text)
                .map(Tok::Number)
                .map_err(|why| ParseError::at(start, why));
        }
        // Not a number: a duration is digits and unit letters up to the next other character.
        let number_end = self.pos;
        self.pos = start;
        while self.peek_at(0).is_some_and(|b| b.is_ascii_alphanumeric()) {
            self.pos += 1;
        }
        let text = &self.input[start..self.pos];
        let looks_like_duration = text.as_bytes().first().is_some_and(u8::is_ascii_digit)
            && text.as_bytes().last().is_some_and(u8::is_ascii_alphabetic)
            && !self.peek_at(0).is_some_and(|b| b == b'_' || b == b'.');
        if looks_like_duration {
            Ok(Tok::Duration(text.to_string()))
        } else {
            self.pos = self.pos.max(number_end);
            while self.peek_at(0).is_some_and(is_ident_char) {
                self.pos += 1;
            }
            Err(ParseError::at(
                start,
                format!(
                    "bad number or duration syntax: {:?}",
                    &self.input[start..self.pos]
                ),
            ))
        }
    }

    fn digits(&mut self) {
        while self.peek_at(0).is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    /// A quoted string with Go's escapes; backquoted strings are raw.
    fn string(&mut self, quote: u8) -> Result<String, ParseError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = &self.input[self.pos..];
            let Some(c) = rest.chars().next() else {
                return Err(ParseError::at(start, "unterminated quoted string"));
            };
            self.pos += c.len_utf8();
            match c {
                c if c as u32 == quote as u32 => return Ok(out),
                '\n' if quote != b'`' => {
                    return Err(ParseError::at(start, "unterminated quoted string"));
                }
                '\\' if quote != b'`' => {
                    let escape_at = self.pos - 1;
                    out.push(
                        self.escape(quote)
                            .map_err(|why| ParseError::at(escape_at, why))?,
                    );
                }
                c => out.push(c),
            }
        }
    }

    fn escape(&mut self, quote: u8) -> Result<char, String> {
        let Some(c) = self.input[self.pos..].chars().next() else {
            return Err("escape sequence not terminated".to_string());
        };
        self.pos += c.len_utf8();
        let simple = match c {
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            '\\' => Some('\\'),
            '"' if quote == b'"' => Some('"'),
            '\'' if quote == b'\'' => Some('\''),
            _ => None,
        };
        if let Some(c) = simple {
            return Ok(c);
        }
        let (count, radix) = match c {
            'x' => (2, 16),
            'u' => (4, 16),
            'U' => (8, 16),
            '0'..='7' => (2, 8),
            _ => return Err(format!("unknown escape sequence {c:?}")),
        };
        let digits_start = self.pos;
        let end = digits_start + count;
        let digits = self
            .input
            .get(digits_start..end)
            .filter(|d| d.chars().all(|c| c.is_digit(radix)))
            .ok_or_else(|| "invalid escape sequence".to_string())?;
        self.pos = end;
        let code = if radix == 8 {
            let first = c.to_digit(8).unwrap_or(0);
            u32::from_str_radix(digits, 8).map(|rest| first * 64 + rest)
        } else {
            u32::from_str_radix(digits, 16)
        };
        code.ok()
            .filter(|code| radix != 8 || *code <= 255)
            .and_then(char::from_u32)
            .ok_or_else(|| "escape sequence is an invalid Unicode code point".to_string())
    }
}

/// A number as Prometheus reads a NUMBER token: Go's `ParseInt(text, 0, 64)` first (so `010`
/// is octal and `0x1f` hex), else `ParseFloat`.
fn parse_number(text: &str) -> Result<f64, String> {
    let int = if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        i64::from_str_radix(hex, 16).ok()
    } else if text.len() > 1 && text.starts_with('0') && text.bytes().all(|b| b.is_ascii_digit()) {
        i64::from_str_radix(&text[1..], 8).ok()
    } else if text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse::<i64>().ok()
    } else {
        None
    };
    if let Some(n) = int {
        return Ok(n as f64);
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!(
            "error parsing number: strconv.ParseFloat: parsing {text:?}: value out of range"
        )),
        Err(_) => Err(format!(
            "error parsing number: strconv.ParseFloat: parsing {text:?}: invalid syntax"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(input: &str) -> Vec<Tok> {
        lex(input).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn splits_a_rule_expression() {
        assert_eq!(
            toks("rate(a_b:c{x=~\"y\"}[1m30s]) > 0 # why\n"),
            vec![
                Tok::Ident("rate".into()),
                Tok::LParen,
                Tok::Ident("a_b:c".into()),
                Tok::LBrace,
                Tok::Ident("x".into()),
                Tok::RegexMatch,
                Tok::Str("y".into()),
                Tok::RBrace,
                Tok::LBracket,
                Tok::Duration("1m30s".into()),
                Tok::RBracket,
                Tok::RParen,
                Tok::Greater,
                Tok::Number(0.0),
                Tok::Eof,
            ]
        );
    }

    #[test]
    fn numbers_and_strings() {
        assert_eq!(toks("0x1f")[0], Tok::Number(31.0));
        assert_eq!(toks("010")[0], Tok::Number(8.0));
        assert_eq!(toks("09")[0], Tok::Number(9.0));
        assert_eq!(toks("1.5e3")[0], Tok::Number(1500.0));
        assert_eq!(toks(".5")[0], Tok::Number(0.5));
        assert_eq!(toks("Inf")[0], Tok::Number(f64::INFINITY));
        assert_eq!(
            toks(r#""a\"b\n\x41\u00e9\101""#)[0],
            Tok::Str("a\"b\nAéA".into())
        );
        assert_eq!(toks(r"'it\'s'")[0], Tok::Str("it's".into()));
        assert_eq!(toks(r"`raw\d`")[0], Tok::Str(r"raw\d".into()));
        assert!(lex(r#""a\'""#).is_err());
        assert!(lex("\"open").is_err());
        assert!(lex("1e").is_err());
        assert!(lex("5mm").is_ok(), "the parser judges the units");
        assert!(lex("1x").is_ok());
        assert!(lex("1_000").is_err());
        assert!(lex(".5x").is_err());
        assert!(lex("0x").is_err());
        assert_eq!(toks("[5m:1m]")[2], Tok::Colon);
        assert_eq!(toks("a:b")[0], Tok::Ident("a:b".into()));
        assert!(lex("1e400").is_err());
        assert!(lex("a ! b").is_err());
        assert!(lex("a ; b").is_err());
    }
}
