//! A partner's red lines, fetched so a draft can be checked before it is sent.
//!
//! Each node serves its constitutional layer to its pinned partners
//! (`GET /v1/policy/constitutional`, over the same mutual TLS as
//! envelopes). A liaison officer's node fetches the partner's layer and
//! evaluates a draft against it before sending, so that a draft that would
//! cross the partner's red line is known for what it is before it becomes
//! an incident. The fetched text is the partner's own word about its own
//! layer, over the pinned channel; its digest is shown so it can be
//! compared with the digest the partner announced when it pinned it.

#![cfg_attr(not(test), warn(clippy::indexing_slicing))]

use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::Full;
use hyper::body::Bytes;
use sha2::{Digest as _, Sha256};
use soberana_core::PartyCode;

use crate::NodeError;
use crate::node::Node;
use crate::server::PeerCertificate;

/// The largest layer accepted from a partner.
pub const MAX_LAYER_BYTES: usize = 256 * 1024;
/// How long a fetch may take, body included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(15);

/// A partner's constitutional layer as it served it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerConstitution {
    /// The partner.
    pub party: PartyCode,
    /// The layer's text.
    pub text: String,
    /// Its SHA-256, hex (the digest a node pins).
    pub digest: String,
}

/// Serves this node's constitutional layer to a pinned partner.
pub(crate) async fn serve(
    State(node): State<Node>,
    peer: Option<Extension<PeerCertificate>>,
) -> Response {
    let pinned = peer
        .and_then(|Extension(p)| p.0)
        .is_some_and(|fingerprint| {
            node.peers()
                .iter()
                .any(|c| c.tls_cert_sha256.0 == fingerprint)
        });
    if !pinned {
        return (
            StatusCode::FORBIDDEN,
            "the constitutional layer is served to pinned partners\n",
        )
            .into_response();
    }
    let path = node.dir().policy().join("constitutional.cedar");
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            bytes,
        )
            .into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the constitutional layer cannot be read now\n",
        )
            .into_response(),
    }
}

impl Node {
    /// Fetches partner `party`'s constitutional layer over the pinned
    /// channel, bounded in size ([`MAX_LAYER_BYTES`]) and time.
    pub async fn fetch_partner_constitution(
        &self,
        party: PartyCode,
    ) -> Result<PartnerConstitution, NodeError> {
        let failed = |detail: String| NodeError::Report {
            detail: format!("{party}'s constitutional layer: {detail}"),
        };
        let mut cache = std::collections::HashMap::new();
        let (url, client, _) = crate::outbox::client_for(self, party, &mut cache)
            .ok_or_else(|| NodeError::UnknownPeer(party.to_string()))?;
        let url = url.replace("/v1/envelopes", "/v1/policy/constitutional");
        let request = hyper::Request::get(&url)
            .body(Full::new(Bytes::new()))
            .map_err(|e| failed(e.to_string()))?;
        // The same bounded exchange as every delivery: at most
        // MAX_LAYER_BYTES of the answer, all of it within FETCH_TIMEOUT.
        let bounds = crate::outbox::Bounds {
            reply_bytes: MAX_LAYER_BYTES,
            timeout: FETCH_TIMEOUT,
        };
        let (status, body) = crate::outbox::exchange(&client, request, bounds)
            .await
            .map_err(failed)?;
        if !status.is_success() {
            return Err(failed(format!(
                "refused ({status}): {}",
                String::from_utf8_lossy(&body).trim()
            )));
        }
        let text = String::from_utf8(body.to_vec()).map_err(|_| failed("not UTF-8".into()))?;
        let digest = hex::encode(Sha256::digest(text.as_bytes()));
        Ok(PartnerConstitution {
            party,
            text,
            digest,
        })
    }
}
