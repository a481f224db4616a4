//! TLS to the server, as `sslmode` and `sslrootcert` ask. Runs where the test server offers TLS
//! with a certificate for `localhost` that this process can read (Debian's snakeoil
//! certificate, as on the CI machines); says so and returns elsewhere.

use bulkwrite_store::RecordStore;
use bulkwrite_store_postgres::PgStore;

use super::{admin, database_url, fresh_database};

/// Whether the backends serving `database` all use TLS (`None`: none is connected).
async fn encrypted(url: &str, database: &str) -> Option<bool> {
    let client = admin(url).await;
    let row = client
        .query_one(
            "SELECT bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.datname = $1",
            &[&database],
        )
        .await
        .unwrap();
    row.get(0)
}

/// The server certificate's path when the server offers TLS and the file can be read.
async fn server_certificate(url: &str) -> Option<String> {
    let client = admin(url).await;
    let ssl: String = client.query_one("SHOW ssl", &[]).await.unwrap().get(0);
    let file: String = client.query_one("SHOW ssl_cert_file", &[]).await.unwrap().get(0);
    (ssl == "on" && std::fs::read(&file).is_ok()).then_some(file)
}

#[cfg_attr(not(pg_tests), ignore = "needs PostgreSQL: set BULKWRITE_TEST_DATABASE_URL")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_decides_encryption_and_what_is_checked() {
    let url = database_url();
    let Some(certificate) = server_certificate(&url).await else {
        return println!("skipped: the test server offers no TLS certificate this process can read");
    };
    let database_url = fresh_database(&url).await;
    let name = database_url.rsplit('/').next().unwrap().to_string();
    let with = |query: &str| format!("{database_url}?{query}");
    let use_store = |store: PgStore| async move {
        store.count_records(bulkwrite_core::ids::OrgId::new(1), "Leads").await.unwrap();
        store
    };

    let plain = use_store(PgStore::connect(&with("sslmode=disable")).await.unwrap()).await;
    assert_eq!(encrypted(&url, &name).await, Some(false));
    drop(plain);
    // Its sessions close in the background: wait until none is left before the next mode's look.
    while encrypted(&url, &name).await.is_some() {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let required = use_store(PgStore::connect(&with("sslmode=require")).await.unwrap()).await;
    assert_eq!(encrypted(&url, &name).await, Some(true), "require encrypts, checking no certificate");
    drop(required);

    // The certificate is for `localhost`: `verify-full` accepts it only by that name, while
    // `verify-ca` checks the chain alone.
    let root = format!("sslrootcert={certificate}");
    if database_url.contains("127.0.0.1") {
        let by_name = database_url.replacen("127.0.0.1", "localhost", 1);
        PgStore::connect(&format!("{by_name}?sslmode=verify-full&{root}")).await.expect("verify-full by name");
        let by_address = PgStore::connect(&with(&format!("sslmode=verify-full&{root}"))).await;
        let error = by_address.err().expect("the certificate is not for 127.0.0.1");
        let error = format!("{:?}", std::error::Error::source(&error));
        assert!(error.to_lowercase().contains("certificate"), "{error}");
        PgStore::connect(&with(&format!("sslmode=verify-ca&{root}"))).await.expect("verify-ca by address");
    }

    // A root that did not sign the server's certificate is refused.
    let other_root = std::env::temp_dir().join(format!("bulkwrite-other-root-{}.pem", std::process::id()));
    std::fs::write(&other_root, OTHER_ROOT).unwrap();
    let refused = PgStore::connect(&with(&format!("sslmode=verify-ca&sslrootcert={}", other_root.display()))).await;
    let _ = std::fs::remove_file(&other_root);
    assert!(refused.is_err(), "a certificate from an unknown issuer");
}

/// A self-signed certificate of no server here (ISRG Root X1, Let's Encrypt's root).
const OTHER_ROOT: &str = "-----BEGIN CERTIFICATE-----
MIIFazCCA1OgAwIBAgIRAIIQz7DSQONZRGPgu2OCiwAwDQYJKoZIhvcNAQELBQAw
TzELMAkGA1UEBhMCVVMxKTAnBgNVBAoTIEludGVybmV0IFNlY3VyaXR5IFJlc2Vh
cmNoIEdyb3VwMRUwEwYDVQQDEwxJU1JHIFJvb3QgWDEwHhcNMTUwNjA0MTEwNDM4
WhcNMzUwNjA0MTEwNDM4WjBPMQswCQYDVQQGEwJVUzEpMCcGA1UEChMgSW50ZXJu
ZXQgU2VjdXJpdHkgUmVzZWFyY2ggR3JvdXAxFTATBgNVBAMTDElTUkcgUm9vdCBY
MTCCAiIwDQYJKoZIhvcNAQEBBQADggIPADCCAgoCggIBAK3oJHP0FDfzm54rVygc
h77ct984kIxuPOZXoHj3dcKi/vVqbvYATyjb3miGbESTtrFj/RQSa78f0uoxmyF+
0TM8ukj13Xnfs7j/EvEhmkvBioZxaUpmZmyPfjxwv60pIgbz5MDmgK7iS4+3mX6U
A5/TR5d8mUgjU+g4rk8Kb4Mu0UlXjIB0ttov0DiNewNwIRt18jA8+o+u3dpjq+sW
T8KOEUt+zwvo/7V3LvSye0rgTBIlDHCNAymg4VMk7BPZ7hm/ELNKjD+Jo2FR3qyH
B5T0Y3HsLuJvW5iB4YlcNHlsdu87kGJ55tukmi8mxdAQ4Q7e2RCOFvu396j3x+UC
B5iPNgiV5+I3lg02dZ77DnKxHZu8A/lJBdiB3QW0KtZB6awBdpUKD9jf1b0SHzUv
KBds0pjBqAlkd25HN7rOrFleaJ1/ctaJxQZBKT5ZPt0m9STJEadao0xAH0ahmbWn
OlFuhjuefXKnEgV4We0+UXgVCwOPjdAvBbI+e0ocS3MFEvzG6uBQE3xDk3SzynTn
jh8BCNAw1FtxNrQHusEwMFxIt4I7mKZ9YIqioymCzLq9gwQbooMDQaHWBfEbwrbw
qHyGO0aoSCqI3Haadr8faqU9GY/rOPNk3sgrDQoo//fb4hVC1CLQJ13hef4Y53CI
rU7m2Ys6xt0nUW7/vGT1M0NPAgMBAAGjQjBAMA4GA1UdDwEB/wQEAwIBBjAPBgNV
HRMBAf8EBTADAQH/MB0GA1UdDgQWBBR5tFnme7bl5AFzgAiIyBpY9umbbjANBgkq
hkiG9w0BAQsFAAOCAgEAVR9YqbyyqFDQDLHYGmkgJykIrGF1XIpu+ILlaS/V9lZL
ubhzEFnTIZd+50xx+7LSYK05qAvqFyFWhfFQDlnrzuBZ6brJFe+GnY+EgPbk6ZGQ
3BebYhtF8GaV0nxvwuo77x/Py9auJ/GpsMiu/X1+mvoiBOv/2X/qkSsisRcOj/KK
NFtY2PwByVS5uCbMiogziUwthDyC3+6WVwW6LLv3xLfHTjuCvjHIInNzktHCgKQ5
ORAzI4JMPJ+GslWYHb4phowim57iaztXOoJwTdwJx4nLCgdNbOhdjsnvzqvHu7Ur
TkXWStAmzOVyyghqpZXjFaH3pO3JLF+l+/+sKAIuvtd7u+Nxe5AW0wdeRlN8NwdC
jNPElpzVmbUq4JUagEiuTDkHzsxHpFKVK7q4+63SM1N95R1NbdWhscdCb+ZAJzVc
oyi3B43njTOQ5yOf+1CceWxG1bQVs5ZufpsMljq4Ui0/1lvh+wjChP4kqKOJ2qxq
4RgqsahDYVvTH9w7jXbyLeiNdd8XM2w9U/t7y0Ff/9yi0GE44Za4rF2LN9d11TPA
mRGunUHBcnWEvgJBQl9nJEiU0Zsnvgc/ubhPgXRR4Xq37Z0j4r7g1SgEEzwxA57d
emyPxgcYxn/eR44/KJ4EBs+lVDR3veyJm+kXQ99b21/+jh5Xos1AnX5iItreGCc=
-----END CERTIFICATE-----
";
