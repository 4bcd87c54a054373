// Gives happy-dom a real (in-memory) IndexedDB. Node-environment suites get it
// too, harmlessly.
import 'fake-indexeddb/auto';
