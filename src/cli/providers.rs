//! `serve`'s providers: which are mounted, with which credentials, and
//! what the admin is told about each at start.

use std::net::SocketAddr;
use std::sync::Arc;
use switchboard::provider::Provider;
use switchboard::provider::capability::Kind;
use switchboard::provider::plivo::Plivo;
use switchboard::provider::signalwire::SignalWire;
use switchboard::provider::telnyx::Telnyx;
use switchboard::provider::twilio::Twilio;
use switchboard::provider::vxml::VoiceXml;

/// A provider `serve` can mount.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Name {
    /// Twilio (TwiML), at /twilio/….
    Twilio,
    /// Plivo (Plivo XML), at /plivo/….
    Plivo,
    /// Telnyx (TeXML), at /telnyx/….
    Telnyx,
    /// SignalWire (cXML), at /signalwire/….
    Signalwire,
    /// W3C VoiceXML 2.1 browsers (Cisco CVP/VVB, Avaya Experience Portal), at /vxml/….
    Vxml,
}

impl Name {
    const ALL: [Name; 5] = [
        Name::Twilio,
        Name::Plivo,
        Name::Telnyx,
        Name::Signalwire,
        Name::Vxml,
    ];

    /// The variable its credential is read from.
    fn variable(self) -> &'static str {
        match self {
            Name::Twilio => "TWILIO_AUTH_TOKEN",
            Name::Plivo => "PLIVO_AUTH_TOKEN",
            Name::Telnyx => "TELNYX_PUBLIC_KEY",
            Name::Signalwire => "SIGNALWIRE_SIGNING_KEY",
            Name::Vxml => "SWITCHBOARD_VXML_TOKEN",
        }
    }

    /// The header its requests are verified by.
    fn checks(self) -> &'static str {
        match self {
            Name::Twilio => "X-Twilio-Signature",
            Name::Plivo => "X-Plivo-Signature-V3",
            Name::Telnyx => "telnyx-signature-ed25519 (and a timestamp within 300 s)",
            Name::Signalwire => "X-SignalWire-Signature",
            Name::Vxml => "HTTP Basic credentials (the token as password)",
        }
    }
}

/// The providers' flags.
#[derive(clap::Args, Debug)]
pub(crate) struct ProviderArgs {
    /// Providers to mount, comma-separated (twilio, plivo, telnyx,
    /// signalwire, vxml); default: twilio, and every provider whose credential is
    /// set. Callbacks to one that is not mounted get 404.
    #[arg(long, env = "SWITCHBOARD_PROVIDERS", value_enum, value_delimiter = ',')]
    providers: Vec<Name>,
    /// Twilio auth token for X-Twilio-Signature checks.
    #[arg(long, env = "TWILIO_AUTH_TOKEN", hide_env_values = true)]
    twilio_auth_token: Option<String>,
    /// Plivo auth token (of the account or subaccount the numbers belong
    /// to) for X-Plivo-Signature-V3 checks.
    #[arg(long, env = "PLIVO_AUTH_TOKEN", hide_env_values = true)]
    plivo_auth_token: Option<String>,
    /// A subaccount's main account auth token, for X-Plivo-Signature-Ma-V3.
    #[arg(long, env = "PLIVO_MAIN_AUTH_TOKEN", hide_env_values = true)]
    plivo_main_auth_token: Option<String>,
    /// Telnyx's public key (base64, from the Mission Control portal) for
    /// telnyx-signature-ed25519 checks.
    #[arg(long, env = "TELNYX_PUBLIC_KEY")]
    telnyx_public_key: Option<String>,
    /// SignalWire project Signing Key for X-SignalWire-Signature checks.
    #[arg(long, env = "SIGNALWIRE_SIGNING_KEY", hide_env_values = true)]
    signalwire_signing_key: Option<String>,
    /// The password VoiceXML platforms send as HTTP Basic credentials
    /// (VoiceXML browsers sign nothing).
    #[arg(long, env = "SWITCHBOARD_VXML_TOKEN", hide_env_values = true)]
    vxml_token: Option<String>,
}

/// A mounted provider and how its requests are checked.
pub(crate) struct Mounted {
    pub(crate) provider: Arc<dyn Provider>,
    name: Name,
}

fn set(v: &Option<String>) -> Option<String> {
    v.as_ref()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

impl ProviderArgs {
    fn credential(&self, name: Name) -> Option<String> {
        match name {
            Name::Twilio => set(&self.twilio_auth_token),
            Name::Plivo => set(&self.plivo_auth_token).or_else(|| set(&self.plivo_main_auth_token)),
            Name::Telnyx => set(&self.telnyx_public_key),
            Name::Signalwire => set(&self.signalwire_signing_key),
            Name::Vxml => set(&self.vxml_token),
        }
    }

    /// The providers to mount on `listen`: unsigned ones only on loopback
    /// (or with `allow_unsigned`).
    pub(crate) fn mount(
        &self,
        listen: SocketAddr,
        allow_unsigned: bool,
    ) -> anyhow::Result<Vec<Mounted>> {
        let chosen: Vec<Name> = if self.providers.is_empty() {
            Name::ALL
                .into_iter()
                .filter(|n| *n == Name::Twilio || self.credential(*n).is_some())
                .collect()
        } else {
            let mut v = self.providers.clone();
            v.dedup();
            v
        };
        let mut out = Vec::new();
        for name in chosen {
            let credential = self.credential(name);
            if credential.is_none() && !listen.ip().is_loopback() && !allow_unsigned {
                anyhow::bail!(
                    "refusing to listen on {listen} without {}: anyone could post forged {} callbacks. Set it, listen on 127.0.0.1, or pass --allow-unsigned for a closed test network",
                    name.variable(),
                    name.prefix()
                );
            }
            let provider: Arc<dyn Provider> = match name {
                Name::Twilio => Arc::new(Twilio::new(credential)),
                Name::Plivo => Arc::new(Plivo::new(
                    set(&self.plivo_auth_token),
                    set(&self.plivo_main_auth_token),
                )),
                Name::Telnyx => Arc::new(Telnyx::new(credential.as_deref())?),
                Name::Signalwire => Arc::new(SignalWire::new(credential)),
                Name::Vxml => Arc::new(VoiceXml::new(credential)),
            };
            out.push(Mounted { provider, name });
        }
        for name in Name::ALL {
            if self.credential(name).is_some() && !out.iter().any(|m| m.name == name) {
                tracing::warn!(
                    "{} is set but --providers does not list {}: its callbacks get 404",
                    name.variable(),
                    name.prefix()
                );
            }
        }
        Ok(out)
    }
}

impl Name {
    /// The provider, as flow files and the capability table name it.
    pub(crate) fn kind(self) -> Kind {
        match self {
            Name::Twilio => Kind::Twilio,
            Name::Plivo => Kind::Plivo,
            Name::Telnyx => Kind::Telnyx,
            Name::Signalwire => Kind::SignalWire,
            Name::Vxml => Kind::Vxml,
        }
    }

    fn prefix(self) -> &'static str {
        self.kind().name()
    }

    /// Its credential from its variable, where one signs (not Telnyx's public key).
    pub(crate) fn credential_from_env(self) -> Option<String> {
        match self {
            Name::Telnyx => None,
            _ => std::env::var(self.variable()).ok(),
        }
    }
}

impl Mounted {
    /// The lines `serve` prints about this provider.
    pub(crate) fn describe(&self, base: &str) -> Vec<String> {
        let n = self.provider.name();
        let mut lines = vec![match self.name {
            Name::Vxml => format!("  {n:<9} application URL {base}/{n}/voice"),
            Name::Plivo => format!(
                "  {n:<9} answer URL {base}/{n}/voice, hangup URL {base}/{n}/status, agents' answer URL {base}/{n}/agent?group=NAME"
            ),
            _ => format!("  {n:<9} voice URL {base}/{n}/voice, status callback {base}/{n}/status"),
        }];
        if self.provider.signed() {
            lines.push(format!(
                "  verified  {} on every {n} route",
                self.name.checks()
            ));
        } else {
            lines.push(format!(
                "  WARNING   no {}: unsigned {n} requests are accepted",
                self.name.variable()
            ));
            tracing::warn!("no {}: {n} requests are not verified", self.name.variable());
        }
        lines
    }
}
