//! SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), client side, without I/O: the
//! caller carries the three messages to the broker and back.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

use crate::error::{Error, ErrorKind, Result};

/// Which hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramHash {
    /// SCRAM-SHA-256.
    Sha256,
    /// SCRAM-SHA-512.
    Sha512,
}

impl ScramHash {
    /// The SASL mechanism name.
    pub fn mechanism(self) -> &'static str {
        match self {
            ScramHash::Sha256 => "SCRAM-SHA-256",
            ScramHash::Sha512 => "SCRAM-SHA-512",
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        // HMAC accepts keys of any length, so new_from_slice cannot fail.
        match self {
            ScramHash::Sha256 => {
                let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
            ScramHash::Sha512 => {
                let mut m = <Hmac<Sha512> as Mac>::new_from_slice(key).expect("any key length");
                m.update(data);
                m.finalize().into_bytes().to_vec()
            }
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
            ScramHash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    pub(crate) fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => {
                let mut out = vec![0u8; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
                out
            }
            ScramHash::Sha512 => {
                let mut out = vec![0u8; 64];
                pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out);
                out
            }
        }
    }
}

/// Kafka's brokers refuse fewer than 4096 iterations; a server asking for more than this is
/// broken or hostile (each iteration costs the client CPU).
const MIN_ITERATIONS: u32 = 4096;
const MAX_ITERATIONS: u32 = 1_000_000;

fn auth_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Auth, "sasl_authenticate", message)
}

/// One SCRAM exchange.
pub struct ScramClient {
    hash: ScramHash,
    password: Vec<u8>,
    client_first_bare: String,
    client_nonce: String,
    server_signature: Option<Vec<u8>>,
}

impl std::fmt::Debug for ScramClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramClient")
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

/// `=` and `,` are escaped in SCRAM user names (RFC 5802 section 5.1).
fn escape_user(user: &str) -> String {
    user.replace('=', "=3D").replace(',', "=2C")
}

impl ScramClient {
    /// A new exchange with a random nonce.
    pub fn new(hash: ScramHash, user: &str, password: &str) -> Self {
        let nonce: [u8; 24] = rand::random();
        Self::with_nonce(hash, user, password, &B64.encode(nonce))
    }

    fn with_nonce(hash: ScramHash, user: &str, password: &str, nonce: &str) -> Self {
        ScramClient {
            hash,
            password: password.as_bytes().to_vec(),
            client_first_bare: format!("n={},r={nonce}", escape_user(user)),
            client_nonce: nonce.to_string(),
            server_signature: None,
        }
    }

    /// The client-first message (no channel binding, no authorization id).
    pub fn client_first(&self) -> Vec<u8> {
        format!("n,,{}", self.client_first_bare).into_bytes()
    }

    /// Reads the server-first message and returns the client-final message with the proof.
    pub fn client_final(&mut self, server_first: &[u8]) -> Result<Vec<u8>> {
        let server_first = std::str::from_utf8(server_first)
            .map_err(|_| auth_error("the broker's SCRAM challenge is not UTF-8"))?;
        let (mut nonce, mut salt, mut iterations) = (None, None, None);
        for attr in server_first.split(',') {
            match attr.split_once('=') {
                Some(("r", v)) => nonce = Some(v),
                Some(("s", v)) => salt = Some(v),
                Some(("i", v)) => iterations = Some(v),
                Some(("e", v)) => {
                    return Err(auth_error(format!("the broker refused SCRAM: {v}")));
                }
                _ => {}
            }
        }
        let (Some(nonce), Some(salt), Some(iterations)) = (nonce, salt, iterations) else {
            return Err(auth_error(
                "the broker's SCRAM challenge lacks its nonce, salt or iteration count",
            ));
        };
        if !nonce.starts_with(&self.client_nonce) || nonce.len() == self.client_nonce.len() {
            return Err(auth_error(
                "the broker's SCRAM nonce does not extend the client's; possible tampering",
            ));
        }
        let salt = B64
            .decode(salt)
            .map_err(|_| auth_error("the broker's SCRAM salt is not base64"))?;
        let iterations: u32 = iterations
            .parse()
            .map_err(|_| auth_error("the broker's SCRAM iteration count is not a number"))?;
        if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
            return Err(auth_error(format!(
                "the broker asked for {iterations} SCRAM iterations; accepted are {MIN_ITERATIONS}..{MAX_ITERATIONS}"
            )));
        }
        let h = self.hash;
        let salted = h.salted_password(&self.password, &salt, iterations);
        let client_key = h.hmac(&salted, b"Client Key");
        let stored_key = h.hash(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let client_signature = h.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&client_signature)
            .map(|(a, b)| a ^ b)
            .collect();
        let server_key = h.hmac(&salted, b"Server Key");
        self.server_signature = Some(h.hmac(&server_key, auth_message.as_bytes()));
        Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
    }

    /// Checks the server-final message: the broker proves it knows the password too.
    pub fn verify_server(&self, server_final: &[u8]) -> Result<()> {
        let text = std::str::from_utf8(server_final)
            .map_err(|_| auth_error("the broker's SCRAM final message is not UTF-8"))?;
        if let Some(e) = text.strip_prefix("e=") {
            return Err(auth_error(format!("the broker refused SCRAM: {e}")));
        }
        let signature = text
            .split(',')
            .find_map(|a| a.strip_prefix("v="))
            .and_then(|v| B64.decode(v).ok())
            .ok_or_else(|| auth_error("the broker's SCRAM final message has no signature"))?;
        // Constant time: how long a comparison takes must not tell an impostor how many
        // leading bytes of its forged signature are right.
        match &self.server_signature {
            Some(expected) if bool::from(expected.as_slice().ct_eq(&signature)) => Ok(()),
            _ => Err(auth_error(
                "the broker's SCRAM signature is wrong: it does not know this user's credentials (possible impostor)",
            )),
        }
    }
}

/// One exchange with a fixed client nonce, so a fuzzer can write a server-first message that
/// gets past the nonce check to the salt, the iteration count and the server signature.
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz_exchange(server_first: &[u8], server_final: &[u8]) -> Result<()> {
    let mut c = ScramClient::with_nonce(ScramHash::Sha256, "user", "pencil", "fuzz");
    c.client_final(server_first)?;
    c.verify_server(server_final)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677 section 3.
    #[test]
    fn rfc7677_sha256_exchange() {
        let mut c =
            ScramClient::with_nonce(ScramHash::Sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
        assert_eq!(c.client_first(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first = b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let fin = c.client_final(server_first).unwrap();
        assert_eq!(
            String::from_utf8(fin).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        c.verify_server(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        assert!(c.verify_server(b"v=AAAA").is_err());
        assert!(c.verify_server(b"e=invalid-proof").is_err());
    }

    #[test]
    fn hostile_challenges_are_refused() {
        let mut c = ScramClient::with_nonce(ScramHash::Sha512, "a,b=c", "p", "abc");
        assert_eq!(c.client_first(), b"n,,n=a=2Cb=3Dc,r=abc");
        for bad in [
            &b"r=xyz1,s=AAAA,i=4096"[..],  // nonce not ours
            b"r=abc,s=AAAA,i=4096",        // nonce not extended
            b"r=abcd,s=!!,i=4096",         // salt not base64
            b"r=abcd,s=AAAA,i=100",        // too few iterations
            b"r=abcd,s=AAAA,i=4000000000", // too many
            b"r=abcd,s=AAAA",              // missing count
            b"\xff\xfe",
        ] {
            assert!(
                c.client_final(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
