//! Calls on a partner outside the delivery loop: a receipt for one of our
//! envelopes, checked against the partner's pinned keys, and raw sends that
//! put our own bytes on the wire as they are (the abuse bench and the
//! partner-facing refusal tests).

use std::collections::HashMap;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use soberana_core::PartyCode;

use super::{Bounds, client_for, exchange};
use crate::node::Node;
use crate::tls;

impl Node {
    /// Asks partner `from` for a receipt that our envelope `envelope_id` is
    /// in its log, and verifies it against the keys pinned from its card and
    /// our own witness key before returning it.
    pub async fn fetch_receipt(
        &self,
        from: PartyCode,
        envelope_id: &str,
    ) -> Result<soberana_ledger::ProofBundle, crate::NodeError> {
        let failed = |detail: String| crate::NodeError::Ledger(detail);
        let card = self
            .peer(from)
            .ok_or_else(|| crate::NodeError::UnknownPeer(from.to_string()))?;
        let mut cache = HashMap::new();
        let (url, client, _) = client_for(self, from, &mut cache)
            .ok_or_else(|| crate::NodeError::UnknownPeer(from.to_string()))?;
        let url = url.replace("/v1/envelopes", &format!("/v1/receipts/{envelope_id}"));
        let request = hyper::Request::get(&url)
            .body(Full::new(Bytes::new()))
            .map_err(|e| failed(e.to_string()))?;
        // A receipt holds a proof of at most 63 hashes and two notes: far
        // under a megabyte.
        let bounds = Bounds {
            reply_bytes: Bounds::of(self).reply_bytes.max(1024 * 1024),
            ..Bounds::of(self)
        };
        let (status, body) = exchange(&client, request, bounds).await.map_err(failed)?;
        if !status.is_success() {
            return Err(failed(format!(
                "{from} gave no receipt ({status}): {}",
                String::from_utf8_lossy(&body)
            )));
        }
        let bundle: soberana_ledger::ProofBundle =
            serde_json::from_slice(&body).map_err(|e| failed(format!("malformed receipt: {e}")))?;
        let log_key = crate::card_log_key(&card)
            .ok_or_else(|| failed("the partner's card has no log key".into()))?;
        soberana_ledger::verify_bundle_with(&bundle, &[log_key], &[self.witness_key()?])
            .map_err(|e| failed(format!("the receipt does not verify: {e}")))?;
        Ok(bundle)
    }

    /// Opens a mutual-TLS connection to a pinned partner's node and hands
    /// it over unused: for diagnostics and for tests that must write what a
    /// slow or hostile partner would (trickled bytes, idle connections).
    pub async fn connect_raw(
        &self,
        to: PartyCode,
    ) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, String> {
        let card = self
            .peer(to)
            .ok_or_else(|| format!("no pinned partner `{to}`"))?;
        let config = tls::client_config(&self.tls(), vec![card.tls_cert_sha256.0])
            .map_err(|e| e.to_string())?;
        let authority = card
            .endpoint
            .trim_start_matches("https://")
            .trim_end_matches('/')
            .to_owned();
        let host = authority
            .rsplit_once(':')
            .map_or(authority.as_str(), |(h, _)| h)
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let tcp = tokio::net::TcpStream::connect(&authority)
            .await
            .map_err(|e| format!("cannot reach {authority}: {e}"))?;
        let name = rustls::pki_types::ServerName::try_from(host)
            .map_err(|e| format!("`{authority}`: {e}"))?;
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS with {authority}: {e}"))
    }

    /// Sends raw bytes to a pinned partner's envelope endpoint over mutual
    /// TLS and returns the HTTP status and body. Bypasses the outbox: for
    /// diagnostics and for tests that must send what a faulty or hostile
    /// partner would (so only with the `test-support` feature).
    #[cfg(feature = "test-support")]
    pub async fn send_raw(&self, to: PartyCode, bytes: Vec<u8>) -> Result<(u16, String), String> {
        self.send_raw_to(to, "", bytes).await
    }

    /// Sends raw bytes to a pinned partner's batch endpoint, as
    /// [`Node::send_raw`] does to its envelope endpoint.
    #[cfg(feature = "test-support")]
    pub async fn send_raw_batch(
        &self,
        to: PartyCode,
        bytes: Vec<u8>,
    ) -> Result<(u16, String), String> {
        self.send_raw_to(to, "/batch", bytes).await
    }

    #[cfg(feature = "test-support")]
    async fn send_raw_to(
        &self,
        to: PartyCode,
        tail: &str,
        bytes: Vec<u8>,
    ) -> Result<(u16, String), String> {
        use http_body_util::BodyExt as _;
        let mut cache = HashMap::new();
        let (url, client, _) =
            client_for(self, to, &mut cache).ok_or_else(|| format!("no pinned partner `{to}`"))?;
        let url = format!("{url}{tail}");
        let request = hyper::Request::post(&url)
            .header("content-type", "application/octet-stream")
            .body(Full::new(Bytes::from(bytes)))
            .map_err(|e| e.to_string())?;
        let response = client
            .request(request)
            .await
            .map_err(|e| format!("{e:?}"))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .map_err(|e| e.to_string())?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}
