import { createRoot } from 'react-dom/client';
import { App, fetchMeta } from './App.js';
import './styles.css';

// asked for before React renders: the round trip overlaps the first render, and the log's
// fetch (which waits for the answer: salvage or not) starts ~0.1 s sooner
const meta = fetchMeta();
meta.catch(() => undefined);
createRoot(document.getElementById('root')!).render(<App meta={meta} />);
