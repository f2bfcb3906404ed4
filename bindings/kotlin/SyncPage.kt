// A small JVM program on the generated Kotlin bindings (JNA): opens a local database, fetches a
// page from the relay, adds a block, syncs until the relay holds it, and prints the page's
// stable JSON (the same bytes as `tessera show --json` on any device in sync).
//
//   java -cp tessera-sync.jar:jna.jar:kotlinx-coroutines-core-jvm.jar:kotlin-stdlib.jar \
//        -Djna.library.path=DIR_OF_libtessera.so SyncPageKt DATA_DIR RELAY URL TOKEN TEXT

import dev.tessera.BlockKind
import dev.tessera.ErrorCode
import dev.tessera.Target
import dev.tessera.Tessera
import dev.tessera.TokenProvider
import kotlinx.coroutines.runBlocking

class FixedToken(private val token: String) : TokenProvider {
    override fun token(refused: ErrorCode?): String = token
}

fun main(args: Array<String>): Unit = runBlocking {
    val (dataDir, relay, url, token, text) = args
    val db = Tessera.open(dataDir, relay, FixedToken(token))
    val page = db.find(url) // not stored here yet: it opens empty and sync fetches it
    page.startSync()
    page.waitInSync(60_000uL)
    page.addBlock(BlockKind.Paragraph, text, Target.End(parent = null))
    page.waitInSync(60_000uL)
    println(page.toJson())
    db.shutdown()
}
