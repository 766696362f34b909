import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import '../shared/styles.css';
import { ContributePage } from './ContributePage.js';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ContributePage />
  </StrictMode>,
);
