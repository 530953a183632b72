//! A property test over the JSON API: random and hostile bodies, ids and query strings sent
//! to every route of the table must never produce a 5xx, and every error must carry a code.
//! The generator is seeded (print of the seed on failure) so a failure can be replayed with
//! `DOCENT_FUZZ_SEED`.

use docent_server::routes::{Kind, routes};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Backend, TestApp};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn string(&mut self) -> String {
        let pieces = [
            "",
            "a",
            "ä",
            "💬",
            "<script>alert(1)</script>",
            "' OR 1=1 --",
            "\u{0}",
            "\n",
            "https://x.example",
            "#fff",
            "-",
            "api",
            "x@y.z",
            "%00",
            "../../etc/passwd",
            "𝕏",
        ];
        let n = self.below(4);
        let mut s: String = (0..n).map(|_| *self.pick(&pieces)).collect();
        if self.below(10) == 0 {
            s.push_str(&"z".repeat(self.below(5000) as usize));
        }
        s
    }

    fn value(&mut self, depth: u32) -> Value {
        match self.below(if depth > 2 { 6 } else { 8 }) {
            0 => Value::Null,
            1 => json!(self.below(2) == 0),
            2 => json!(self.next() as i64),
            3 => json!((self.next() as f64) / 7.0 - 1e18),
            4 | 5 => json!(self.string()),
            6 => Value::Array((0..self.below(4)).map(|_| self.value(depth + 1)).collect()),
            _ => {
                let keys = [
                    "name",
                    "email",
                    "password",
                    "role",
                    "plan",
                    "token",
                    "org_id",
                    "chat_space_id",
                    "widget_config",
                    "ai_config",
                    "retrieval_config",
                    "allowed_origins",
                    "status",
                    "endpoint_slug",
                    "webhook_url",
                    "answer_mode",
                    "primary_color",
                    "temperature",
                ];
                Value::Object(
                    (0..self.below(5))
                        .map(|_| (self.pick(&keys).to_string(), self.value(depth + 1)))
                        .collect(),
                )
            }
        }
    }

    /// An object with the fields a route expects, each of a random type.
    /// An object with some of `fields`, each of any shape.
    fn shaped(&mut self, fields: &[String]) -> Value {
        let mut object = serde_json::Map::new();
        for field in fields {
            if self.below(5) != 0 {
                let v = self.value(1);
                object.insert(field.clone(), v);
            }
        }
        Value::Object(object)
    }
}

/// The names of the fields of a route's JSON body, as its OpenAPI document describes it.
fn body_fields(document: &Value, route: &docent_server::routes::Route) -> Vec<String> {
    let method = route.method.as_str().to_lowercase();
    let schema = &document["paths"][route.path][method.as_str()]["requestBody"]["content"]["application/json"]
        ["schema"];
    let schema = match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            &document["components"]["schemas"][name]
        }
        None => schema,
    };
    schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_input_produces_a_server_error() {
    let seed = std::env::var("DOCENT_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    eprintln!("fuzz seed {seed} (replay with DOCENT_FUZZ_SEED={seed})");
    let mut rng = Rng(seed);
    let document = docent_server::openapi::document("http://localhost");
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.login_max_failures_per_account = 1_000_000;
        s.login_max_failures_per_ip = 1_000_000;
    })
    .await
    .expect("app");
    let ana = app.signup("ana@example.com").await;
    let (_, space) = ana
        .post("/api/chat-spaces", json!({"name": "Target"}))
        .await;
    let space_id = space["id"].as_str().expect("id").to_owned();
    let routes: Vec<_> = routes()
        .into_iter()
        .filter(|r| r.kind == Kind::Api)
        .collect();
    let ids = [
        space_id.as_str(),
        "not-a-uuid",
        "00000000-0000-0000-0000-000000000000",
        "%2e%2e",
        "1",
    ];
    let mut sent = 0;
    for round in 0..12 {
        for route in &routes {
            let path: String = route
                .path
                .split('/')
                .map(|seg| {
                    if seg.starts_with('{') {
                        rng.pick(&ids).to_string()
                    } else {
                        seg.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            let query = match rng.below(4) {
                0 => format!("?limit={}&cursor={}", rng.string(), rng.pick(&ids)),
                1 => format!("?limit={}", rng.next() as i64),
                _ => String::new(),
            };
            let path = format!("{path}{query}");
            let csrf = ana.csrf().await;
            let mut request = ana
                .request(route.method.clone(), &path)
                .header("x-csrf-token", csrf);
            if route.method != Method::GET {
                request = match (round % 4, route.body) {
                    (0, Some(_)) => request.json(&rng.shaped(&body_fields(&document, route))),
                    (1, _) => request
                        .header("content-type", "application/json")
                        .body(rng.string()),
                    (2, _) => request.json(&rng.value(0)),
                    _ => request
                        .header(
                            "content-type",
                            *rng.pick(&[
                                "text/plain",
                                "application/x-www-form-urlencoded",
                                "multipart/form-data",
                            ]),
                        )
                        .body(rng.string()),
                };
            }
            let response = request.send().await.expect("send");
            let status = response.status();
            let text = response.text().await.expect("text");
            assert!(
                status.as_u16() < 500,
                "seed {seed}: {} {path} answered {status}: {text}",
                route.method
            );
            if status.is_client_error() && route.kind == Kind::Api {
                let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| {
                    panic!(
                        "seed {seed}: {} {path} answered {status} without JSON: {text}",
                        route.method
                    )
                });
                assert!(
                    body["error"]["code"].is_string() && body["error"]["message"].is_string(),
                    "seed {seed}: {text}"
                );
            }
            sent += 1;
        }
    }
    assert!(sent > 300);
    let (status, _) = app.anonymous().get("/ready").await;
    assert_eq!(status, StatusCode::OK, "the server is still healthy");
}
