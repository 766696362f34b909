/** The bar at the top of both pages. `active` is the current hash route or `contribute`. */
export interface TopbarProps {
  active: string;
  /** On the dashboard the sections are hash links; elsewhere they go back to `/`. */
  onDashboard: boolean;
}

const SECTIONS: Array<[string, string]> = [
  ['network', 'Network'],
  ['jobs', 'Jobs'],
  ['nodes', 'Nodes'],
  ['submit', 'Submit a job'],
];

export function Topbar({ active, onDashboard }: TopbarProps) {
  return (
    <header className="topbar">
      <a className="brand" href="/">
        <img src="/favicon.svg" alt="" width={24} height={24} />
        Lode
      </a>
      <nav className="nav" aria-label="Sections">
        {SECTIONS.map(([id, label]) => (
          <a key={id} href={`${onDashboard ? '' : '/'}#/${id}`} className={active === id ? 'active' : undefined}>
            {label}
          </a>
        ))}
        <a href="/contribute" className={active === 'contribute' ? 'active' : undefined}>
          Contribute
        </a>
      </nav>
    </header>
  );
}
