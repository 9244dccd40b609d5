//! Raw TCP/UDP sockets and DNS lookups (`wasi:sockets`). TCP and UDP are
//! switched on in wasmtime-wasi so that every address reaches
//! [`configure`]'s check, which asks the network policy and journals each
//! refusal; `ip-name-lookup` is wrapped by [`DnsGuard`] the same way.

use super::policy::{self, SocketUse, SocketVerdict};
use crate::call::CallInfo;
use crate::grants::NetScheme;
use crate::state::InstanceState;
use crate::trust::CapabilityKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{HasData, Linker, Resource};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::SocketError;
use wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::{
    self, Host, HostResolveAddressStream, ResolveAddressStream,
};
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, IpAddress, Network};
use wasmtime_wasi::sockets::{SocketAddrUse, WasiSocketsCtxView};

const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Install the socket address check of this call on a WASI context.
pub fn configure(builder: &mut WasiCtxBuilder, call: &Arc<CallInfo>) {
    let call = call.clone();
    builder
        .allow_tcp(true)
        .allow_udp(true)
        .allow_ip_name_lookup(true)
        .socket_addr_check(move |addr, use_| {
            let call = call.clone();
            Box::pin(async move { check(&call, addr, use_).await })
        });
}

/// Ask the network policy about a socket use; journal a refusal.
async fn check(call: &CallInfo, addr: SocketAddr, use_: SocketAddrUse) -> bool {
    let use_ = match use_ {
        SocketAddrUse::TcpConnect => SocketUse::Connect,
        SocketAddrUse::UdpSend => SocketUse::Send,
        SocketAddrUse::UdpReceive => SocketUse::Receive,
        SocketAddrUse::TcpBind => SocketUse::Bind(NetScheme::Tcp),
        SocketAddrUse::UdpBind => SocketUse::Bind(NetScheme::Udp),
        SocketAddrUse::TcpListen | SocketAddrUse::TcpAccept => SocketUse::Listen,
    };
    let deny = |d: &policy::SocketDenial, why: &str| {
        if d.journal {
            call.deny(CapabilityKind::Socket, &d.target, why, d.grant.as_deref());
        }
        false
    };
    match policy::socket_use(&call.policy.net, addr, use_) {
        SocketVerdict::Allow => true,
        SocketVerdict::Deny(d) => deny(&d, &d.why),
        SocketVerdict::Resolve(grants, d) => {
            let timeout = LOOKUP_TIMEOUT.min(call.remaining());
            match policy::socket_allowed(&grants, addr, timeout).await {
                Ok(()) => true,
                Err(why) => deny(&d, &why),
            }
        }
    }
}

/// Whether the policy lets the plugin look up `name` (the network
/// policy decides).
pub fn dns_allowed(call: &CallInfo, name: &str) -> bool {
    policy::dns_allowed(&call.policy.net, name)
}

/// `wasi:sockets/ip-name-lookup` with the policy check in front.
pub struct DnsGuard<'a> {
    call: &'a CallInfo,
    inner: WasiSocketsCtxView<'a>,
}

struct DnsGuarded;
impl HasData for DnsGuarded {
    type Data<'a> = DnsGuard<'a>;
}

impl Host for DnsGuard<'_> {
    fn resolve_addresses(
        &mut self,
        network: Resource<Network>,
        name: String,
    ) -> Result<Resource<ResolveAddressStream>, SocketError> {
        if !dns_allowed(self.call, &name) {
            let flag = format!("--net dns://{}", name.to_ascii_lowercase());
            self.call.deny(
                CapabilityKind::Dns,
                &format!("lookup {name}"),
                "name not granted",
                Some(&flag),
            );
            return Err(ErrorCode::AccessDenied.into());
        }
        self.inner.resolve_addresses(network, name)
    }
}

impl wasmtime_wasi::p2::bindings::sockets::network::Host for DnsGuard<'_> {
    fn convert_error_code(&mut self, error: SocketError) -> wasmtime::Result<ErrorCode> {
        self.inner.convert_error_code(error)
    }
    fn network_error_code(
        &mut self,
        err: Resource<wasmtime_wasi::p2::bindings::sockets::network::Error>,
    ) -> wasmtime::Result<Option<ErrorCode>> {
        self.inner.network_error_code(err)
    }
}

impl wasmtime_wasi::p2::bindings::sockets::network::HostNetwork for DnsGuard<'_> {
    fn drop(&mut self, this: Resource<Network>) -> wasmtime::Result<()> {
        wasmtime_wasi::p2::bindings::sockets::network::HostNetwork::drop(&mut self.inner, this)
    }
}

impl HostResolveAddressStream for DnsGuard<'_> {
    fn resolve_next_address(
        &mut self,
        r: Resource<ResolveAddressStream>,
    ) -> Result<Option<IpAddress>, SocketError> {
        self.inner.resolve_next_address(r)
    }
    fn subscribe(
        &mut self,
        r: Resource<ResolveAddressStream>,
    ) -> wasmtime::Result<Resource<DynPollable>> {
        HostResolveAddressStream::subscribe(&mut self.inner, r)
    }
    fn drop(&mut self, r: Resource<ResolveAddressStream>) -> wasmtime::Result<()> {
        HostResolveAddressStream::drop(&mut self.inner, r)
    }
}

/// Replace wasmtime-wasi's `ip-name-lookup` with the guarded one. Call after
/// the WASI interfaces are in the linker.
pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    ip_name_lookup::add_to_linker::<InstanceState, DnsGuarded>(linker, |s| DnsGuard {
        call: &s.call,
        inner: WasiSocketsCtxView {
            ctx: s.wasi.sockets(),
            table: &mut s.table,
        },
    })?;
    linker.allow_shadowing(false);
    Ok(())
}
