//! A TCP proxy a test controls, in front of a database server: cut, it
//! drops every connection it carries and closes each new one at once (the
//! server as good as stopped, without stopping the machine's server);
//! restored, it carries connections again.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

pub(crate) struct Proxy {
    /// Where clients connect.
    pub(crate) addr: SocketAddr,
    cut: Arc<AtomicBool>,
    carried: Arc<Mutex<Vec<AbortHandle>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// A proxy on 127.0.0.1:0 to `upstream`.
    pub(crate) async fn to(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let carried: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let task = tokio::spawn({
            let (cut, carried) = (cut.clone(), carried.clone());
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if cut.load(Ordering::SeqCst) {
                        drop(client);
                        continue;
                    }
                    let carry = tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    carried.lock().unwrap().push(carry.abort_handle());
                }
            }
        });
        Proxy {
            addr,
            cut,
            carried,
            task,
        }
    }

    /// Drop every connection, and close new ones at once.
    pub(crate) fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for c in self.carried.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    /// Carry connections again.
    pub(crate) fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut();
    }
}
