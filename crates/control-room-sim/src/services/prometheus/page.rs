//! The `/alerts` page the presenter opens in a browser: every rule with its state, and the
//! active alerts with their labels, on a page that says it is the simulator.

use axum::response::Html;

use super::super::common::{escape, page};
use super::{AlertState, Engine, RULES_FILE, gofmt};

pub fn render(engine: &Engine) -> Html<String> {
    let status = engine.scrape_status();
    let mut body = format!(
        "<h1>Simulated Prometheus</h1>\n<p class=\"sim\">This is control-room's simulator, not \
         the real Prometheus. Every second it scrapes the simulated ztunnels' TCP counters and \
         evaluates <code>{file}</code>; its <code>/api/v1</code> answers PromQL's rate, \
         increase, irate, sum, count, max, min, avg and comparisons.</p>\n\
         <p>Series: <span id=\"series\">{series}</span> · last scrape: {scrape}</p>\n",
        file = escape(RULES_FILE),
        series = status.series,
        scrape = status
            .last_scrape
            .map_or_else(|| "never".to_string(), |t| escape(&gofmt::time(Some(t)))),
    );
    if let Some(error) = &status.rules_error {
        body.push_str(&format!(
            "<p class=\"alarm\">The rules did not load: {}</p>\n",
            escape(error)
        ));
    }
    for group in engine.rule_groups() {
        body.push_str(&format!("<h2>{}</h2>\n", escape(&group.name)));
        for rule in &group.rules {
            let state = rule.state();
            let class = match state {
                AlertState::Firing => " class=\"alarm\"",
                _ => "",
            };
            let alerts: Vec<_> = rule.active_alerts().collect();
            body.push_str(&format!(
                "<h3 id=\"rule-{name}\"{class}>{name}: <span class=\"state\">{state}</span> \
                 ({count} active)</h3>\n<p><code>{query}</code> for {hold}</p>\n",
                name = escape(&rule.name),
                state = state.as_str(),
                count = alerts.len(),
                query = escape(&rule.expr.to_string()),
                hold = gofmt::duration(rule.hold_ms),
            ));
            if let Some(error) = &rule.last_error {
                body.push_str(&format!(
                    "<p class=\"alarm\">Error: {}</p>\n",
                    escape(error)
                ));
            }
            if alerts.is_empty() {
                continue;
            }
            body.push_str(
                "<table>\n<tr><th>labels</th><th>state</th><th>active since</th><th>value</th>\
                 <th>summary</th></tr>\n",
            );
            for alert in alerts {
                let labels: Vec<String> = alert
                    .labels
                    .iter()
                    .map(|(n, v)| format!("{}=&quot;{}&quot;", escape(n), escape(v)))
                    .collect();
                body.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                    labels.join("<br>"),
                    alert.state.as_str(),
                    escape(&gofmt::time(Some(alert.active_at))),
                    escape(&gofmt::float_g(alert.value)),
                    escape(alert.annotations.get("summary")),
                ));
            }
            body.push_str("</table>\n");
        }
    }
    page("Simulated Prometheus", Some(5), &body)
}
